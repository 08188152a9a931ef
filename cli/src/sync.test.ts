import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { startFaultProxy, type Fault } from '@rast-backup/plugin-s3/testing/FaultProxy';
import {
  s3Client,
  startSwift,
  SWIFT_IDLE_TIMEOUT_SECONDS,
  swiftAvailable,
  type SwiftServer,
} from '@rast-backup/plugin-s3/testing/SwiftServer';
import { temporaryDirectory, testNeeding } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const BINARY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'node_modules', '.bin', 'rast-backup');
const NEEDS = 'python3-swift (OpenStack Swift with s3api)';

let swift: SwiftServer;
let client: S3Client;
let buckets = 0;

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** A local sink and an S3 sink reached through a proxy that can play an outage (or fail requests as `fault` says). */
async function repository(extraBackup = '', tables: { main?: string; s3Only?: string } = {}) {
  const home = await temporaryDirectory('rast-sync-');
  const bucket = `sync-${++buckets}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  const network = { down: false, fault: undefined as ((method: string, url: string) => Fault | undefined) | undefined };
  const proxy = await startFaultProxy(swift.port, (request) =>
    network.down ? { kind: 'reset' } : network.fault?.(request.method ?? '', request.url ?? ''),
  );
  const s3 = (endpoint: string) =>
    [
      '[s3]',
      `endpoint = ${JSON.stringify(endpoint)}`,
      `access_key_id = ${JSON.stringify(swift.accessKeyId)}`,
      `secret_access_key = ${JSON.stringify(swift.secretAccessKey)}`,
      `bucket = ${JSON.stringify(bucket)}`,
      'region = "us-east-1"',
      'prefix = "repo"',
      'max_attempts = 1',
      `idle_timeout_seconds = ${SWIFT_IDLE_TIMEOUT_SECONDS}`,
      '',
    ].join('\n');
  const local = path.join(home, 'repository');
  const config = path.join(home, 'config.toml');
  await writeFile(
    config,
    `[storage]\nlocal.path = ${JSON.stringify(local)}\n\n[backup]\npart_size_mib = 1\n${extraBackup}\n${s3(proxy.endpoint)}\n${tables.main ?? ''}`,
    {
      mode: 0o600,
    },
  );
  // S3 alone, straight to the server: what a host that lost its local disk reads.
  const s3Only = path.join(home, 's3-only.toml');
  await writeFile(s3Only, `[backup]\npart_size_mib = 1\n\n${s3(swift.endpoint)}\n${tables.s3Only ?? ''}`, { mode: 0o600 });
  const source = path.join(home, 'source');
  const files: Record<string, string> = {};
  const writeFiles = async (round: number) => {
    const { mkdir } = await import('node:fs/promises');
    await mkdir(path.join(source, 'dir'), { recursive: true });
    files['file1'] = `round ${round}\n`;
    files['dir/a.txt'] = `a ${round}\n`;
    files[`random-${round}.bin`] = createHash('sha512').update(String(round)).digest('hex').repeat(40_000);
    for (const [name, content] of Object.entries(files)) await writeFile(path.join(source, name), content);
  };
  await writeFiles(0);
  const state = path.join(home, 'state');
  const run = (args: string[], configFile = config) => cli([...args, '--config', configFile], state);
  const json = async <T = any>(args: string[], configFile = config): Promise<T> => {
    const result = await run([...args, '--json'], configFile);
    assert.is(result.status, 0, `rast-backup ${args.join(' ')}: exit ${result.status}: ${result.stderr}`);
    return JSON.parse(result.stdout) as T;
  };
  /** Keys in the bucket under the prefix, without it. */
  const keys = async () => {
    const listed: string[] = [];
    let ContinuationToken: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'repo/', ContinuationToken }));
      listed.push(...(page.Contents ?? []).map((object) => object.Key!.slice('repo/'.length)));
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
    return listed.sort();
  };
  /** The restore of `id` under `configFile` holds the files of the source as they are now. */
  const restoresFrom = async (id: string, configFile: string) => {
    const destination = path.join(home, `restore-${Math.random().toString(36).slice(2)}`);
    const result = await run(['restore', id, destination], configFile);
    assert.is(result.status, 0, result.stderr);
    for (const [name, content] of Object.entries(files)) assert.is(await readFile(path.join(destination, name), 'utf8'), content, name);
  };
  return { home, local, config, s3Only, source, network, proxy, run, json, keys, writeFiles, restoresFrom };
}

/** The real binary, run without blocking this process (the proxy lives here). */
function cli(args: string[], state: string, onSpawn?: (pid: number) => void): Promise<Result> {
  const child = spawn(BINARY, args, {
    env: { ...process.env, RAST_BACKUP_CONFIG: '', RAST_BACKUP_STATE_DIR: state },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid) onSpawn?.(child.pid);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
}

const listed = (entries: any[]) => entries.map((entry) => [entry.id, entry.sinks, entry.behind]);

// ---

const sync = suite('sync: sinks brought back in step');

sync.before(async () => {
  if (!swiftAvailable) return;
  swift = await startSwift();
  client = s3Client(swift);
});
sync.after(async () => {
  client?.destroy();
  await swift?.stop();
});

testNeeding(
  sync,
  swiftAvailable,
  NEEDS,
  'a backup made during an S3 outage is committed in local only; sync copies it, and it verifies and restores from S3 alone',
  async () => {
    const repo = await repository();
    try {
      const full = await repo.json(['create', repo.source]);
      assert.equal(full.sinks, ['local', 's3']);
      assert.equal(full.behind, []);

      repo.network.down = true;
      await repo.writeFiles(1);
      const during = await repo.run(['create', repo.source, '--parent', 'latest']);
      assert.is(during.status, 1, during.stderr);
      assert.match(during.stderr, /committed in local only: sink s3/);
      const unreachable = await repo.run(['sync']);
      assert.is(unreachable.status, 1, unreachable.stderr);
      assert.match(unreachable.stderr, /sink s3 could not be read, nothing was copied into it/);
      // repair, too, names the sink it cannot read and changes nothing (the listing below is as before).
      const repairing = await repo.run(['repair', '--all']);
      assert.is(repairing.status, 1, repairing.stderr);
      assert.match(repairing.stderr, /error RB017: repair needs every sink, and sink s3 \(.*\) cannot be read: .*; nothing was changed/);
      repo.network.down = false;

      const before = await repo.json<any[]>(['list']);
      const id = before[1].id;
      assert.equal(listed(before), [
        [full.id, ['local', 's3'], []],
        [id, ['local'], ['s3']],
      ]);
      const table = await repo.run(['list']);
      assert.match(table.stdout, /behind/);
      assert.match(table.stdout, /behind: sink s3 lacks 1 backup \(rast-backup sync copies them\)/);
      assert.ok(!(await repo.keys()).includes(`backups/${id}.json`));

      const planned = await repo.json(['sync', '--dry-run']);
      assert.equal(
        planned.copies.map((copy: any) => [copy.backup, copy.sink, copy.status]),
        [[id, 's3', 'would-copy']],
      );
      assert.is(planned.inStep, 1);
      assert.ok(!(await repo.keys()).includes(`backups/${id}.json`), 'a dry run copies nothing');

      const syncing = await repo.run(['sync', '--json', '--progress=plain']);
      assert.is(syncing.status, 0, syncing.stderr);
      const done = JSON.parse(syncing.stdout);
      // The progress counts the stored bytes of what it copies, of a total from the manifests.
      assert.match(syncing.stderr, /rast-backup: progress: sync every backup: ([\d.]+ \w+) of \1 \(100%\)/);
      assert.equal(
        done.copies.map((copy: any) => [copy.backup, copy.sink, copy.status, copy.from]),
        [[id, 's3', 'copied', ['local']]],
      );
      assert.is(done.copied, 1);
      assert.is(done.failed, 0);
      const manifest = JSON.parse(await readFile(path.join(repo.local, 'backups', `${id}.json`), 'utf8'));
      const keys = await repo.keys();
      for (const part of [...manifest.parts, manifest.index]) assert.ok(keys.includes(part.key), part.key);
      assert.ok(keys.includes(`data/${id}/index.000000`), 'the index blocks are copied');
      assert.equal(listed(await repo.json<any[]>(['list'])), [
        [full.id, ['local', 's3'], []],
        [id, ['local', 's3'], []],
      ]);
      assert.not.match((await repo.run(['list'])).stdout, /behind/);

      // S3 alone holds the whole chain.
      const verified = await repo.run(['verify', id], repo.s3Only);
      assert.is(verified.status, 0, verified.stderr);
      await repo.restoresFrom(id, repo.s3Only);

      const again = await repo.json(['sync']);
      assert.equal(again.copies, []);
      assert.is(again.inStep, 2);
    } finally {
      await repo.proxy.close();
    }
  },
);

testNeeding(
  sync,
  swiftAvailable,
  NEEDS,
  'an interrupted sync leaves no manifest, and the next one copies only what is missing',
  async () => {
    const repo = await repository();
    try {
      repo.network.down = true;
      const during = await repo.run(['create', repo.source]);
      assert.is(during.status, 1, during.stderr);
      repo.network.down = false;
      const [{ id }] = await repo.json<any[]>(['list']);
      const manifest = JSON.parse(await readFile(path.join(repo.local, 'backups', `${id}.json`), 'utf8'));
      assert.ok(manifest.parts.length >= 3, `${manifest.parts.length} parts`);

      // S3 fails every write after the first two parts.
      let partsStored = 0;
      repo.network.fault = (method, url) => {
        if (method !== 'PUT') return undefined;
        if (/\.part(\?|$)/.test(url) && partsStored < 2) {
          partsStored++;
          return undefined;
        }
        return { kind: 'status', status: 500 };
      };
      const cut = await repo.run(['sync']);
      assert.is(cut.status, 1, cut.stderr);
      assert.match(cut.stderr, new RegExp(`backup ${id} into sink s3`));
      const keys = await repo.keys();
      assert.ok(!keys.includes(`backups/${id}.json`), 'no manifest for an incomplete copy');
      assert.is(keys.filter((key) => key.endsWith('.part')).length, 2);
      assert.equal(listed(await repo.json<any[]>(['list'])), [[id, ['local'], ['s3']]]);

      repo.network.fault = undefined;
      repo.proxy.requests.length = 0;
      const resumed = await repo.json(['sync']);
      assert.is(resumed.copies[0].status, 'copied');
      assert.is(resumed.copies[0].present, 2);
      const puts = repo.proxy.requests.filter((request) => request.startsWith('PUT') && request.includes('.part'));
      assert.is(puts.length, manifest.parts.length - 2, 'the parts already there are not copied again');
      assert.is((await repo.run(['verify', id], repo.s3Only)).status, 0);
      await repo.restoresFrom(id, repo.s3Only);
    } finally {
      await repo.proxy.close();
    }
  },
);

testNeeding(sync, swiftAvailable, NEEDS, 'a sync stopped by SIGTERM exits 143 and commits nothing half-copied', async () => {
  const repo = await repository();
  try {
    repo.network.down = true;
    assert.is((await repo.run(['create', repo.source])).status, 1);
    repo.network.down = false;
    const [{ id }] = await repo.json<any[]>(['list']);
    let pid = 0;
    let signalled = false;
    repo.network.fault = (method, url) => {
      if (method === 'PUT' && /\.part(\?|$)/.test(url) && !signalled) {
        signalled = true;
        process.kill(pid, 'SIGTERM');
        return { kind: 'delay', ms: 300 };
      }
      return undefined;
    };
    const stopped = await cli(['sync', '--config', repo.config], path.join(repo.home, 'state'), (child) => (pid = child));
    assert.is(stopped.status, 143, stopped.stderr);
    assert.match(stopped.stderr, /RB025/);
    assert.ok(!(await repo.keys()).includes(`backups/${id}.json`));
    repo.network.fault = undefined;
    assert.is((await repo.json(['sync'])).copied, 1);
    assert.equal(listed(await repo.json<any[]>(['list'])), [[id, ['local', 's3'], []]]);
  } finally {
    await repo.proxy.close();
  }
});

testNeeding(
  sync,
  swiftAvailable,
  NEEDS,
  'a damaged object is never copied: the backup and its incremental are reported, S3 gets neither manifest',
  async () => {
    const repo = await repository();
    try {
      repo.network.down = true;
      assert.is((await repo.run(['create', repo.source])).status, 1);
      await repo.writeFiles(1);
      assert.is((await repo.run(['create', repo.source, '--parent', 'latest'])).status, 1);
      repo.network.down = false;
      const [{ id }, { id: child }] = await repo.json<any[]>(['list']);
      const manifest = JSON.parse(await readFile(path.join(repo.local, 'backups', `${id}.json`), 'utf8'));
      const damagedKey = manifest.parts[1].key as string;
      const file = path.join(repo.local, damagedKey);
      const bytes = await readFile(file);
      bytes[100] ^= 0xff;
      await writeFile(file, bytes);

      const result = await repo.run(['sync', '--json']);
      assert.is(result.status, 1, result.stderr);
      const report = JSON.parse(result.stdout);
      assert.is(report.failed, 2);
      assert.equal(
        report.copies.map((copy: any) => [copy.backup, copy.status]),
        [
          [id, 'failed'],
          [child, 'failed'],
        ],
      );
      assert.match(report.copies[0].problem, new RegExp(`part 2 of ${manifest.parts.length} \\(${damagedKey}\\): no good copy`));
      assert.match(report.copies[1].problem, new RegExp(`its parent ${id} is not there`));
      assert.match(result.stderr, /RB017/);
      const keys = await repo.keys();
      assert.ok(!keys.includes(damagedKey), 'the damaged part is not in S3');
      assert.ok(!keys.includes(`backups/${id}.json`), 'no manifest');
      assert.ok(!keys.includes(`backups/${child}.json`), 'no manifest for the incremental either');
      assert.equal(listed(await repo.json<any[]>(['list'])), [
        [id, ['local'], ['s3']],
        [child, ['local'], ['s3']],
      ]);
    } finally {
      await repo.proxy.close();
    }
  },
);

testNeeding(
  sync,
  swiftAvailable,
  NEEDS,
  'sync_after_create brings the backups an outage left behind in step after the next create',
  async () => {
    const repo = await repository('sync_after_create = true\n');
    try {
      repo.network.down = true;
      assert.is((await repo.run(['create', repo.source])).status, 1);
      repo.network.down = false;
      const [{ id: first }] = await repo.json<any[]>(['list']);
      await repo.writeFiles(1);
      const second = await repo.json(['create', repo.source, '--parent', 'latest']);
      assert.equal(
        second.sync.copies.map((copy: any) => [copy.backup, copy.sink, copy.status]),
        [[first, 's3', 'copied']],
      );
      assert.equal(listed(await repo.json<any[]>(['list'])), [
        [first, ['local', 's3'], []],
        [second.id, ['local', 's3'], []],
      ]);
      await repo.restoresFrom(second.id, repo.s3Only);
    } finally {
      await repo.proxy.close();
    }
  },
);

testNeeding(
  sync,
  swiftAvailable,
  NEEDS,
  'a write-only host that did not make the backup checks its index blocks by size, and they must add up',
  async () => {
    const keys = await temporaryDirectory('rast-sync-keys-');
    const key = path.join(keys, 'backup.key');
    const generated = await cli(['generate-key', '--output', key], path.join(keys, 'state'));
    assert.is(generated.status, 0, generated.stderr);
    const repo = await repository('', {
      main: `[encryption]\npublic_key_path = ${JSON.stringify(`${key}.pub`)}\n\n[signing]\nenabled = false\n`,
      s3Only: `[encryption]\nkey_path = ${JSON.stringify(key)}\n\n[signing]\nenabled = false\n`,
    });
    try {
      repo.network.down = true;
      assert.is((await repo.run(['create', repo.source])).status, 1);
      repo.network.down = false;
      const [{ id }] = await repo.json<any[]>(['list']);
      // Another write-only host: no copy of the index it could read instead.
      await rm(path.join(repo.home, 'state'), { recursive: true, force: true });
      const block = path.join(repo.local, 'data', id, 'index.000000');
      const original = await readFile(block);
      await writeFile(block, original.subarray(1));
      const refused = await repo.run(['sync', '--json']);
      assert.is(refused.status, 1, refused.stderr);
      assert.match(JSON.parse(refused.stdout).copies[0].problem, /sizes add up to the manifest's storedSize/);
      assert.ok(!(await repo.keys()).includes(`backups/${id}.json`));

      await writeFile(block, original);
      const done = await repo.json(['sync']);
      assert.is(done.copies[0].status, 'copied');
      assert.ok(done.copies[0].unchecked >= 1, JSON.stringify(done.copies[0]));
      const verified = await repo.run(['verify', id], repo.s3Only);
      assert.is(verified.status, 0, verified.stderr);
      await repo.restoresFrom(id, repo.s3Only);
    } finally {
      await repo.proxy.close();
    }
  },
);

// ---

const config = suite('sync: config');

config('[backup] sync_after_create must be a boolean, named with its file', async () => {
  const home = await temporaryDirectory('rast-sync-');
  const file = path.join(home, 'config.toml');
  await writeFile(
    file,
    `[storage]\nlocal.path = ${JSON.stringify(path.join(home, 'repository'))}\n\n[backup]\nsync_after_create = "yes"\n`,
  );
  const result = await cli(['sync', '--config', file], path.join(home, 'state'));
  assert.is(result.status, 2, result.stderr);
  assert.match(result.stderr, new RegExp(`${file.replace(/[.]/g, '\\.')}: backup\\.sync_after_create: `));
  assert.is(result.stderr.trim().split('\n').length, 1);
});

config('sync --help describes it', async () => {
  const home = await temporaryDirectory('rast-sync-');
  const result = await cli(['sync', '--help'], path.join(home, 'state'));
  assert.is(result.status, 0);
  assert.match(result.stdout, /Copy backups into the configured sinks that lack them/);
});

sync.run();
config.run();
