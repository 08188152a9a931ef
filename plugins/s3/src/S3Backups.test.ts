import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, DeleteObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { temporaryDirectory, testNeeding } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startFaultProxy } from './testing/FaultProxy.js';
import { s3Client, startSwift, SWIFT_IDLE_TIMEOUT_SECONDS, swiftAvailable, type SwiftServer } from './testing/SwiftServer.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const BINARY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'node_modules', '.bin', 'rast-backup');
const s3cmdAvailable = spawnSync('s3cmd', ['--version'], { stdio: 'ignore' }).status === 0;

let swift: SwiftServer;
let client: S3Client;
let bucketCount = 0;

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real binary without blocking this process: the fault proxy lives here. */
function cli(args: string[], env: Record<string, string> = {}): Promise<Result> {
  const child = spawn(BINARY, args, { env: { ...process.env, RAST_BACKUP_CONFIG: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
}

function json<T = any>(result: Result): T {
  assert.is(result.status, 0, `exit ${result.status}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

function assertFails(result: Result, message: RegExp) {
  assert.is(result.status, 1, `expected exit 1, got ${result.status}: ${result.stderr}`);
  assert.match(result.stderr, message);
  assert.not.match(result.stderr, /^\s+at /m, 'no stack trace');
}

async function newBucket(): Promise<string> {
  const name = `cli-test-${++bucketCount}`;
  await client.send(new CreateBucketCommand({ Bucket: name }));
  return name;
}

async function bucketKeys(bucket: string): Promise<string[]> {
  const answer = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (answer.Contents ?? []).map((object) => object.Key!).sort();
}

/** A config file ([s3], optionally [storage] local.path too), a source tree, 1 MiB parts. */
async function setup(options: { bucket: string; local?: boolean; s3?: Record<string, string | number> }) {
  const home = await temporaryDirectory();
  const lines = ['[backup]', 'part_size_mib = 1', ''];
  if (options.local) lines.push('[storage]', `local.path = ${JSON.stringify(path.join(home, 'repository'))}`, '');
  const s3: Record<string, string | number> = {
    endpoint: swift.endpoint,
    access_key_id: swift.accessKeyId,
    secret_access_key: swift.secretAccessKey,
    bucket: options.bucket,
    region: 'us-east-1',
    prefix: 'host1',
    max_attempts: 2,
    idle_timeout_seconds: SWIFT_IDLE_TIMEOUT_SECONDS,
    ...options.s3,
  };
  lines.push('[s3]', ...Object.entries(s3).map(([key, value]) => `${key} = ${JSON.stringify(value)}`), '');
  const config = path.join(home, 'config.toml');
  await writeFile(config, lines.join('\n'), { mode: 0o600 });
  const source = path.join(home, 'source');
  await mkdir(path.join(source, 'dir'), { recursive: true });
  await writeFile(path.join(source, 'file1'), 'one\n');
  await writeFile(path.join(source, 'dir', 'a.txt'), 'a\n');
  await writeFile(path.join(source, 'random.bin'), randomBytes(2_500_000));
  return { home, config, source, repository: path.join(home, 'repository') };
}

const digest = async (file: string) =>
  createHash('sha256')
    .update(await readFile(file))
    .digest('hex');

// ---

const backups = suite('s3: backups through the real CLI');

backups.before(async () => {
  if (!swiftAvailable) return;
  swift = await startSwift();
  client = s3Client(swift);
});

testNeeding(
  backups,
  swiftAvailable,
  'python3-swift (OpenStack Swift with s3api)',
  'create, list, info, verify, restore and delete with S3 alone',
  async () => {
    const bucket = await newBucket();
    const { config, source, home } = await setup({ bucket });
    const created = json(await cli(['create', source, '--name', 'Full Backup', '--json', '--config', config]));
    assert.equal(created.sinks, ['s3']);
    const listed = json<any[]>(await cli(['list', '--json', '--config', config]));
    assert.equal(
      listed.map((entry) => [entry.id, entry.name, entry.sinks]),
      [[created.id, 'Full Backup', ['s3']]],
    );
    const info = json(await cli(['info', 'latest', '--json', '--config', config]));
    assert.is(info.manifest.parts.length, created.parts);
    assert.is((await cli(['verify', created.id, '--config', config])).status, 0);
    const destination = path.join(home, 'restored');
    json(await cli(['restore', created.id, destination, '--json', '--config', config]));
    assert.is(await digest(path.join(destination, 'random.bin')), await digest(path.join(source, 'random.bin')));
    assert.is(await readFile(path.join(destination, 'dir', 'a.txt'), 'utf8'), 'a\n');
    const keys = await bucketKeys(bucket);
    assert.ok(keys.includes(`host1/backups/${created.id}.json`));
    assert.ok(
      keys.every((key) => key.startsWith('host1/')),
      'everything under the prefix',
    );

    // The manifest cache: with the bucket's copy gone, list no longer shows it (the listing is the truth).
    const incremental = json(await cli(['create', source, '--parent', 'latest', '--json', '--config', config]));
    assert.is(incremental.parent, created.id);
    assert.is((await cli(['delete', incremental.id, '--config', config])).status, 0);
    assert.is((await cli(['delete', created.id, '--config', config])).status, 0);
    assert.equal(json(await cli(['list', '--json', '--config', config])), []);
    assert.equal(await bucketKeys(bucket), []);
  },
);

testNeeding(
  backups,
  swiftAvailable,
  'python3-swift (OpenStack Swift with s3api)',
  'a host whose cache holds the manifests lists them in ranges, and still sees what another host created and deleted',
  async () => {
    const bucket = await newBucket();
    const { config, source, home } = await setup({ bucket });
    const hostA = { RAST_BACKUP_STATE_DIR: path.join(home, 'state-a') };
    const hostB = { RAST_BACKUP_STATE_DIR: path.join(home, 'state-b') };
    const made: string[] = [];
    for (let round = 0; round < 3; round++) made.push(json(await cli(['create', source, '--json', '--config', config], hostA)).id);
    const ids = (result: Result) => json<any[]>(result).map((entry) => entry.id);
    assert.equal(ids(await cli(['list', '--json', '--config', config], hostA)), made);
    const other = json(await cli(['create', source, '--json', '--config', config], hostB)).id;
    assert.is((await cli(['delete', made[1]!, '--config', config], hostB)).status, 0);
    assert.equal(ids(await cli(['list', '--json', '--config', config], hostA)), [made[0], made[2], other]);
  },
);

testNeeding(
  backups,
  swiftAvailable && s3cmdAvailable,
  'python3-swift and s3cmd',
  's3cmd reads what the tool stored: plain objects, a JSON manifest, zstd parts of a tar stream',
  async () => {
    const bucket = await newBucket();
    const { config, source, home } = await setup({ bucket });
    const created = json(await cli(['create', source, '--json', '--config', config]));
    const s3cfg = path.join(home, 's3cfg');
    const hostPort = swift.endpoint.replace('http://', '');
    await writeFile(
      s3cfg,
      `[default]\naccess_key = ${swift.accessKeyId}\nsecret_key = ${swift.secretAccessKey}\nhost_base = ${hostPort}\nhost_bucket = ${hostPort}\nuse_https = False\nsignature_v2 = False\n`,
    );
    const download = path.join(home, 'download');
    await mkdir(download);
    const got = spawnSync('s3cmd', ['-c', s3cfg, 'get', '--recursive', `s3://${bucket}/host1/`, `${download}/`], { encoding: 'utf8' });
    assert.is(got.status, 0, got.stderr);
    const manifest = JSON.parse(await readFile(path.join(download, 'backups', `${created.id}.json`), 'utf8'));
    assert.is(manifest.id, created.id);
    for (const part of manifest.parts)
      assert.is(await digest(path.join(download, part.key)), part.sha256, `${part.key} has the SHA-256 its manifest records`);
    const files = manifest.parts.map((part: { key: string }) => path.join(download, part.key)).join(' ');
    const listing = spawnSync('sh', ['-c', `cat ${files} | zstd -d | tar -tf -`], { encoding: 'utf8' });
    assert.is(listing.status, 0, listing.stderr);
    assert.match(listing.stdout, /dir\/a\.txt/);
    assert.match(listing.stdout, /random\.bin/);
  },
);

testNeeding(
  backups,
  swiftAvailable,
  'python3-swift',
  'local and S3 together: list shows both; a part missing from each sink still restores',
  async () => {
    const bucket = await newBucket();
    const { config, source, home, repository } = await setup({ bucket, local: true });
    const created = json(await cli(['create', source, '--json', '--config', config]));
    assert.equal(created.sinks, ['local', 's3']);
    assert.equal(json<any[]>(await cli(['list', '--json', '--config', config]))[0].sinks, ['local', 's3']);
    const info = json(await cli(['info', created.id, '--json', '--config', config]));
    const [first, second] = info.manifest.parts as Array<{ key: string }>;
    await rm(path.join(repository, first!.key));
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: `host1/${second!.key}` }));
    // verify checks every sink's copy: it reports each missing part where it is missing.
    const verified = await cli(['verify', created.id, '--config', config]);
    assert.is(verified.status, 1, verified.stderr);
    assert.match(verified.stderr, new RegExp(`${first!.key}\\) in sink local: is missing`));
    assert.match(verified.stderr, new RegExp(`${second!.key}\\) in sink s3: is missing`));
    const destination = path.join(home, 'restored');
    json(await cli(['restore', created.id, destination, '--json', '--config', config]));
    assert.is(await digest(path.join(destination, 'random.bin')), await digest(path.join(source, 'random.bin')));
  },
);

testNeeding(
  backups,
  swiftAvailable,
  'python3-swift',
  'local and S3 with the bucket missing: committed in local only, exit 1 naming s3, endpoint and bucket',
  async () => {
    const { config, source } = await setup({ bucket: 'no-such-bucket', local: true });
    const result = await cli(['create', source, '--json', '--config', config]);
    assertFails(
      result,
      new RegExp(
        `committed in local only: sink s3 \\(s3://no-such-bucket/host1/ at ${swift.endpoint}\\): cannot store .*bucket no-such-bucket does not exist`,
      ),
    );
    assert.is(result.stdout, '');
    const listed = await cli(['list', '--json', '--config', config]);
    assert.equal(
      json<any[]>(listed).map((entry) => entry.sinks),
      [['local']],
    );
    assert.match(listed.stderr, /warning: sink s3 could not be read/);
  },
);

testNeeding(
  backups,
  swiftAvailable,
  'python3-swift',
  'S3 failing mid-create: the backup is in local only, no manifest and no parts in the bucket',
  async () => {
    const bucket = await newBucket();
    let puts = 0;
    const proxy = await startFaultProxy(swift.port, (request) =>
      request.method === 'PUT' && ++puts > 2 ? { kind: 'status', status: 503 } : undefined,
    );
    try {
      const { config, source } = await setup({ bucket, local: true, s3: { endpoint: proxy.endpoint, max_attempts: 2 } });
      const result = await cli(['create', source, '--config', config]);
      assertFails(result, /committed in local only: sink s3 .*: cannot store data\/.*SlowDown 503/);
      assert.equal(await bucketKeys(bucket), [], 'the parts that made it were removed');
    } finally {
      await proxy.close();
    }
  },
);

testNeeding(
  backups,
  swiftAvailable,
  'python3-swift',
  'S3 alone with wrong credentials or a missing bucket: one line, exit 1, nothing committed',
  async () => {
    const bucket = await newBucket();
    const wrong = await setup({ bucket, s3: { secret_access_key: 'not-the-secret' } });
    const denied = await cli(['create', wrong.source, '--config', wrong.config]);
    assertFails(
      denied,
      new RegExp(
        `^rast-backup: .*sink s3 \\(s3://${bucket}/host1/ at ${swift.endpoint}\\): cannot store .*: the credentials were refused \\(SignatureDoesNotMatch 403`,
        'm',
      ),
    );
    assert.is(denied.stderr.trim().split('\n').length, 1, denied.stderr);
    assertFails(await cli(['list', '--config', wrong.config]), /credentials were refused/);
    assert.equal(await bucketKeys(bucket), []);

    const missing = await setup({ bucket: 'absent-bucket' });
    assertFails(
      await cli(['create', missing.source, '--config', missing.config]),
      /sink s3 \(s3:\/\/absent-bucket\/host1\/ at http:\/\/127\.0\.0\.1:\d+\): cannot store .*bucket absent-bucket does not exist/,
    );
  },
);

backups.after(async () => {
  client?.destroy();
  await swift?.stop();
});

backups.run();
