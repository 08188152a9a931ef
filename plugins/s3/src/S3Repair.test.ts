import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { temporaryDirectory, testNeeding } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { s3Client, startSwift, SWIFT_IDLE_TIMEOUT_SECONDS, swiftAvailable, type SwiftServer } from './testing/SwiftServer.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const BINARY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'node_modules', '.bin', 'rast-backup');

let swift: SwiftServer;
let client: S3Client;
let buckets = 0;

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[]): Promise<Result> {
  const child = spawn(BINARY, args, { env: { ...process.env, RAST_BACKUP_CONFIG: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let [stdout, stderr] = ['', ''];
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
}

async function json<T = any>(args: string[]): Promise<T> {
  const result = await cli([...args, '--json']);
  assert.is(result.status, 0, `${args.join(' ')}: exit ${result.status}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

const digest = async (file: string) =>
  createHash('sha256')
    .update(await readFile(file))
    .digest('hex');

/** A local repository and an S3 bucket as two sinks of one config (and a config of the bucket alone), a tree with a 2.5 MB file (3 parts of 1 MiB). */
async function setup() {
  const bucket = `repair-${++buckets}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  const home = await temporaryDirectory();
  const repository = path.join(home, 'repository');
  const s3 = [
    '[s3]',
    `endpoint = ${JSON.stringify(swift.endpoint)}`,
    `access_key_id = ${JSON.stringify(swift.accessKeyId)}`,
    `secret_access_key = ${JSON.stringify(swift.secretAccessKey)}`,
    `bucket = "${bucket}"`,
    'region = "us-east-1"',
    'prefix = "host1"',
    'max_attempts = 2',
    `idle_timeout_seconds = ${SWIFT_IDLE_TIMEOUT_SECONDS}`,
  ];
  const config = path.join(home, 'config.toml');
  await writeFile(
    config,
    ['[backup]', 'part_size_mib = 1', '[storage]', `local.path = ${JSON.stringify(repository)}`, ...s3, ''].join('\n'),
  );
  const s3Only = path.join(home, 's3.toml');
  await writeFile(s3Only, ['[backup]', 'part_size_mib = 1', ...s3, ''].join('\n'));
  const source = path.join(home, 'source');
  await mkdir(path.join(source, 'dir'), { recursive: true });
  await writeFile(path.join(source, 'file1'), 'one\n');
  await writeFile(path.join(source, 'dir', 'a.txt'), 'a\n');
  await writeFile(path.join(source, 'random.bin'), randomBytes(2_500_000));
  const objects = async () => ((await client.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => o.Key!).sort();
  const put = (key: string, body: Buffer) => client.send(new PutObjectCommand({ Bucket: bucket, Key: `host1/${key}`, Body: body }));
  const remove = (key: string) => client.send(new DeleteObjectCommand({ Bucket: bucket, Key: `host1/${key}` }));
  return { home, repository, config, s3Only, source, objects, put, remove };
}

// ---

const repair = suite('s3: repair from what survives (local + S3)');

repair.before(async () => {
  if (!swiftAvailable) return;
  swift = await startSwift();
  client = s3Client(swift);
});

repair.after(async () => {
  await swift?.stop();
});

const NEEDS = 'python3-swift (OpenStack Swift with s3api)';

testNeeding(repair, swiftAvailable, NEEDS, 'a part damaged in S3 is stored again from the local copy; verify suggests repair', async () => {
  const { config, s3Only, source, home, put } = await setup();
  const created = await json(['create', source, '--config', config]);
  const info = await json(['info', created.id, '--config', config]);
  const part = info.manifest.parts[1];
  await put(part.key, randomBytes(part.storedSize));
  const verified = await cli(['verify', created.id, '--config', config]);
  assert.is(verified.status, 1);
  assert.match(verified.stderr, new RegExp(`part 2 of 3 \\(${part.key}\\) in sink s3: SHA-256`));
  assert.match(verified.stderr, new RegExp(`rast-backup: hint: rast-backup repair ${created.id} can mend this`));
  const planned = await json(['repair', created.id, '--dry-run', '--config', config]);
  assert.is(planned.status, 'repaired');
  assert.is(planned.backups[0].repaired[0].sink, 's3');
  assert.is((await cli(['verify', created.id, '--config', config])).status, 1, '--dry-run changes nothing');
  const repaired = await json(['repair', created.id, '--config', config]);
  assert.equal(
    repaired.backups[0].repaired.map((action: any) => [action.sink, action.key]),
    [['s3', part.key]],
  );
  assert.is((await cli(['verify', created.id, '--config', config])).status, 0);
  // S3 alone restores it.
  await json(['restore', created.id, path.join(home, 'out'), '--config', s3Only]);
  assert.is(await digest(path.join(home, 'out', 'random.bin')), await digest(path.join(source, 'random.bin')));
  assert.is((await json(['repair', '--all', '--config', config])).status, 'intact');
});

testNeeding(
  repair,
  swiftAvailable,
  NEEDS,
  'a part bad in every sink is reported as not repairable, exit 1, and nothing is removed',
  async () => {
    const { config, repository, source, put, objects } = await setup();
    const created = await json(['create', source, '--config', config]);
    const info = await json(['info', created.id, '--config', config]);
    const part = info.manifest.parts[0];
    await rm(path.join(repository, part.key));
    await put(part.key, randomBytes(part.storedSize));
    const before = await objects();
    const result = await cli(['repair', '--all', '--config', config, '--json']);
    assert.is(result.status, 1, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.is(report.status, 'incomplete');
    assert.equal(
      report.backups[0].unrepairable.map((failure: any) => failure.key),
      [part.key],
    );
    assert.match(result.stderr, new RegExp(`cannot repair: backup ${created.id}, part 1 of 3 \\(${part.key}\\): no good copy in any sink`));
    assert.not.match(result.stderr, /^\s+at /m);
    assert.equal(await objects(), before, 'nothing removed from S3');
    assert.ok((await readFile(path.join(repository, info.manifest.parts[1].key))).length > 0);
  },
);

testNeeding(repair, swiftAvailable, NEEDS, 'a damaged manifest is copied back, a lost file index rebuilt from the stream', async () => {
  const { config, repository, source, home, remove } = await setup();
  const created = await json(['create', source, '--config', config]);
  const listing = (await cli(['ls', created.id, '--config', config])).stdout;
  const manifestFile = path.join(repository, 'backups', `${created.id}.json`);
  const manifest = JSON.parse(await readFile(manifestFile, 'utf8'));
  await writeFile(manifestFile, '{"format": "rast-backup/manifest", "truncated');
  // The index's only block, gone from both sinks.
  const block = `data/${created.id}/index.000000`;
  await rm(path.join(repository, block));
  await remove(block);
  assert.is((await cli(['ls', created.id, '--config', config])).status, 1);
  const repaired = await json(['repair', created.id, '--config', config]);
  const messages = repaired.backups[0].repaired.map((action: any) => action.message).join('\n');
  assert.match(messages, /manifest .*copied back to sink local from sink s3/);
  assert.match(messages, /file index .*rebuilt from the backup stream/);
  assert.is((await cli(['verify', '--all', '--config', config])).status, 0);
  assert.is((await cli(['ls', created.id, '--config', config])).stdout, listing);
  await json(['restore', created.id, path.join(home, 'out'), '--config', config]);
  assert.is(await digest(path.join(home, 'out', 'random.bin')), await digest(path.join(source, 'random.bin')));
  assert.is(await readFile(path.join(home, 'out', 'dir', 'a.txt'), 'utf8'), 'a\n');
  // The manifest points at the rebuilt index; the rest of it is as it was.
  const now = JSON.parse(await readFile(manifestFile, 'utf8'));
  assert.equal(now.parts, manifest.parts);
  assert.is.not(now.index.key, manifest.index.key);
});

repair.run();
