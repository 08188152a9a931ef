import { randomBytes } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { SWIFT_IDLE_TIMEOUT_SECONDS, type SwiftServer } from '@rast-backup/plugin-s3/testing/SwiftServer';
import { loopFilesystem, sh, writeConfig } from '../support.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** Where a host stores its backups. */
export type Storage = { kind: 'local'; path: string } | { kind: 's3'; swift: SwiftServer; bucket: string; prefix: string };

/** Appended to a config, makes `create` slow (zstd level 19, one part at a time: about 4 MB/s of random data), to act while it runs. */
export const SLOW = '\n[compression]\nlevel = 19\n';

/** A config with 1 MiB parts, the given storage, and `extra` TOML appended (e.g. a [retention] table). */
export async function stressConfig(home: string, storage: Storage, extra = '', name = 'config.toml'): Promise<string> {
  const lines = ['[backup]', 'part_size_mib = 1', ...(extra.includes(SLOW) ? ['concurrency = 1'] : []), ''];
  if (storage.kind === 'local') lines.push('[storage]', `local.path = ${JSON.stringify(storage.path)}`, '');
  else {
    const { swift } = storage;
    lines.push(
      '[s3]',
      `endpoint = ${JSON.stringify(swift.endpoint)}`,
      `access_key_id = ${JSON.stringify(swift.accessKeyId)}`,
      `secret_access_key = ${JSON.stringify(swift.secretAccessKey)}`,
      `bucket = ${JSON.stringify(storage.bucket)}`,
      'region = "us-east-1"',
      `prefix = ${JSON.stringify(storage.prefix)}`,
      `idle_timeout_seconds = ${SWIFT_IDLE_TIMEOUT_SECONDS}`,
      '',
    );
  }
  return writeConfig(home, lines.join('\n') + extra, name);
}

let buckets = 0;

/** A new empty bucket on the Swift server. */
export async function newBucket(swift: SwiftServer): Promise<string> {
  const client = new S3Client({
    endpoint: swift.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: swift.accessKeyId, secretAccessKey: swift.secretAccessKey },
  });
  const bucket = `stress-${process.pid}-${++buckets}`;
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    client.destroy();
  }
  return bucket;
}

/** Fills `directory` with `files` files of random bytes, `megabytes` in all, and a few small ones. */
export async function populate(directory: string, megabytes: number, files = 4): Promise<void> {
  await mkdir(path.join(directory, 'sub'), { recursive: true });
  for (let index = 0; index < files; index++) {
    await writeFile(path.join(directory, `random-${index}.bin`), randomBytes(Math.round((megabytes * 1_048_576) / files)));
  }
  await writeFile(path.join(directory, 'sub', 'note.txt'), `written ${new Date().toISOString()}\n`);
}

/** A fresh loop-mounted btrfs with the given subvolumes; returns their paths. Needs root. */
export async function btrfsSubvolumes(size: string, names: string[]): Promise<{ mountPoint: string; subvolumes: string[] }> {
  const { mountPoint } = await loopFilesystem('btrfs', size, 'rast-stress-btrfs-');
  const subvolumes = names.map((name) => path.join(mountPoint, name));
  for (const subvolume of subvolumes) sh('btrfs', ['subvolume', 'create', subvolume]);
  return { mountPoint, subvolumes };
}

/** Names of the read-only snapshots rast-backup keeps on a btrfs filesystem (below .rast-backup/snapshots). */
export function keptSnapshots(mountPoint: string): string[] {
  return sh('btrfs', ['subvolume', 'list', '-a', mountPoint])
    .split('\n')
    .filter((line) => line.includes('.rast-backup/snapshots/'))
    .map((line) => line.slice(line.lastIndexOf('/') + 1));
}
/** The top-level mounts this tool holds for a btrfs filesystem (`/run/rast-backup/btrfs/<uuid>.<pid>`). */
export async function toolMounts(mountPoint: string): Promise<string[]> {
  const uuid = sh('findmnt', ['-n', '-o', 'UUID', mountPoint]).trim();
  return (await readdir('/run/rast-backup/btrfs').catch(() => [])).filter((name) => name.startsWith(uuid));
}
