import { spawn } from 'node:child_process';
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, DeleteObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { temporaryDirectory, testNeeding } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { s3Client, startSwift, SWIFT_IDLE_TIMEOUT_SECONDS, swiftAvailable, type SwiftServer } from './testing/SwiftServer.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const BINARY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'node_modules', '.bin', 'rast-backup');

let swift: SwiftServer;
let client: S3Client;

function json(args: string[]): Promise<any> {
  const child = spawn(BINARY, [...args, '--json'], { env: { ...process.env, RAST_BACKUP_CONFIG: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let [stdout, stderr] = ['', ''];
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve) =>
    child.on('close', (status) => {
      assert.is(status, 0, `${args.join(' ')}: exit ${status}: ${stderr}`);
      resolve(JSON.parse(stdout));
    }),
  );
}

// ---

const s3 = suite('s3: diff and find');

s3.before(async () => {
  if (!swiftAvailable) return;
  swift = await startSwift();
  client = s3Client(swift);
});

testNeeding(
  s3,
  swiftAvailable,
  'python3-swift (OpenStack Swift with s3api)',
  'diff and find read the indexes from S3 and no part',
  async () => {
    const bucket = 'diff-find';
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    const home = await temporaryDirectory();
    const settings = {
      endpoint: swift.endpoint,
      access_key_id: swift.accessKeyId,
      secret_access_key: swift.secretAccessKey,
      bucket,
      region: 'us-east-1',
      prefix: 'host1',
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
    const source = path.join(home, 'source');
    await mkdir(path.join(source, 'dir'), { recursive: true });
    await writeFile(path.join(source, 'file1'), 'one\n');
    await writeFile(path.join(source, 'dir', 'a.txt'), 'a\n');
    const full = (await json(['create', source, '--config', config])).id;
    await appendFile(path.join(source, 'file1'), 'more\n');
    await writeFile(path.join(source, 'dir', 'b.txt'), 'b\n');
    const incremental = (await json(['create', source, '--parent', 'latest', '--config', config])).id;

    const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
    const parts = (listed.Contents ?? []).map((object) => object.Key!).filter((key) => key.endsWith('.part'));
    assert.ok(parts.length >= 2);
    for (const key of parts) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));

    const diff = await json(['diff', full, incremental, '--config', config]);
    assert.equal(
      diff.differences.filter((difference: any) => difference.after?.type !== 'directory').map((d: any) => `${d.change} ${d.path}`),
      ['added dir/b.txt', 'modified file1'],
    );
    const found = await json(['find', '/dir/*.txt', '--config', config]);
    assert.equal(
      found.matches.map((match: any) => `${match.backup} ${match.path}`),
      [`${full} dir/a.txt`, `${incremental} dir/a.txt`, `${incremental} dir/b.txt`],
    );
  },
);

s3.after(async () => {
  client?.destroy();
  await swift?.stop();
});

s3.run();
