import { spawnSync } from 'node:child_process';
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { isRoot, temporaryDirectory, testNeeding } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { s3Client, startSwift, SWIFT_IDLE_TIMEOUT_SECONDS, swiftAvailable, type SwiftServer } from './testing/SwiftServer.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const BINARY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'node_modules', '.bin', 'rast-backup');
const btrfsAvailable = isRoot && spawnSync('mkfs.btrfs', ['--version']).status === 0;

let swift: SwiftServer;
let client: S3Client;

function cli(args: string[]) {
  const result = spawnSync(BINARY, args, { encoding: 'utf8', env: { ...process.env, RAST_BACKUP_CONFIG: '' } });
  return { status: result.status, stdout: String(result.stdout), stderr: String(result.stderr) };
}

function json(args: string[]): any {
  const result = cli([...args, '--json']);
  assert.is(result.status, 0, `${args.join(' ')}: exit ${result.status}: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

function sh(command: string, args: string[]): void {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr}`);
}

/** Every object of the bucket, with its size and ETag: equal before and after means nothing was written. */
async function objectsOf(bucket: string): Promise<string[]> {
  const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (listed.Contents ?? []).map((object) => `${object.Key} ${object.Size} ${object.ETag}`);
}

async function sourceOf(kind: 'directory' | 'btrfs', home: string): Promise<string> {
  if (kind === 'directory') {
    await mkdir(path.join(home, 'source'));
    return path.join(home, 'source');
  }
  const [image, mountPoint] = [path.join(home, 'btrfs.img'), path.join(home, 'btrfs')];
  await mkdir(mountPoint);
  sh('truncate', ['-s', '200M', image]);
  sh('mkfs.btrfs', ['-q', '-f', image]);
  sh('mount', ['-o', 'loop', image, mountPoint]);
  sh('btrfs', ['subvolume', 'create', path.join(mountPoint, 'data')]);
  return path.join(mountPoint, 'data');
}

// ---

const s3 = suite('s3: create --exclude and --dry-run');

s3.before(async () => {
  if (!swiftAvailable) return;
  swift = await startSwift();
  client = s3Client(swift);
});

for (const kind of ['directory', 'btrfs'] as const) {
  testNeeding(
    s3,
    swiftAvailable && (kind === 'directory' || btrfsAvailable),
    kind === 'directory' ? 'python3-swift (OpenStack Swift with s3api)' : 'python3-swift, root and btrfs-progs',
    `${kind}: excluded paths are left out of a backup in S3, info names the patterns, and a dry run writes no object`,
    async () => {
      const bucket = `exclude-${kind}`;
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
      const home = await temporaryDirectory();
      const settings = {
        endpoint: swift.endpoint,
        access_key_id: swift.accessKeyId,
        secret_access_key: swift.secretAccessKey,
        bucket,
        region: 'us-east-1',
        idle_timeout_seconds: SWIFT_IDLE_TIMEOUT_SECONDS,
      };
      const config = path.join(home, 'config.toml');
      await writeFile(
        config,
        ['[s3]', ...Object.entries(settings).map(([key, value]) => `${key} = ${JSON.stringify(value)}`), ''].join('\n'),
        {
          mode: 0o600,
        },
      );
      const source = await sourceOf(kind, home);
      await mkdir(path.join(source, 'tmp'));
      await writeFile(path.join(source, 'kept'), 'kept\n');
      await writeFile(path.join(source, 'tmp', 'scratch'), 'scratch\n');

      const empty = await objectsOf(bucket);
      const dry = json(['create', source, '--exclude', 'tmp', '--dry-run', '--config', config]);
      assert.equal([dry.files, dry.bytes, dry.parent, dry.sinks], [1, 5, null, ['s3']]);
      assert.equal(await objectsOf(bucket), empty);

      const full = json(['create', source, '--exclude', 'tmp', '--config', config]).id as string;
      const info = json(['info', full, '--files', '--config', config]);
      assert.equal(info.exclude, ['tmp']);
      assert.equal(
        info.files.map((file: { path: string }) => file.path),
        ['.', 'kept'],
      );

      await appendFile(path.join(source, 'kept'), 'more\n');
      const stored = await objectsOf(bucket);
      const incremental = json(['create', source, '--exclude', 'tmp', '--parent', 'latest', '--dry-run', '--config', config]);
      assert.equal([incremental.files, incremental.bytes, incremental.parent], [1, 10, full]);
      assert.equal(await objectsOf(bucket), stored);
    },
  );
}

s3.after(async () => {
  client?.destroy();
  await swift?.stop();
});

s3.run();
