import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CreateBucketCommand, GetObjectCommand, ListMultipartUploadsCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createBackup, createRuntime, ErrorCode, restoreBackup, verifyBackup, type RastError } from '@rast-backup/core';
import { silentLogger, temporaryDirectory, testNeeding } from '@rast-backup/core/testing';
import directory from '@rast-backup/plugin-directory';
import zstd from '@rast-backup/plugin-zstd';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import s3 from './index.js';
import { S3Sink } from './S3Sink.js';
import { normaliseSettings, type S3Options } from './S3Settings.js';
import { startFaultProxy, type Fault } from './testing/FaultProxy.js';
import { s3Client, startSwift, SWIFT_IDLE_TIMEOUT_SECONDS, swiftAvailable, type SwiftServer } from './testing/SwiftServer.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

let swift: SwiftServer;
let bucketCount = 0;

/** A fresh bucket on the test server. */
async function newBucket(): Promise<string> {
  const name = `sink-test-${++bucketCount}`;
  const client = s3Client(swift);
  await client.send(new CreateBucketCommand({ Bucket: name }));
  client.destroy();
  return name;
}

function rawClient(endpoint = swift.endpoint): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    maxAttempts: 8,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    credentials: { accessKeyId: swift.accessKeyId, secretAccessKey: swift.secretAccessKey },
  });
}

function sinkFor(options: Partial<S3Options> & { bucket: string }, log = silentLogger()): S3Sink {
  const settings = normaliseSettings(
    {
      endpoint: swift.endpoint,
      access_key_id: swift.accessKeyId,
      secret_access_key: swift.secretAccessKey,
      idle_timeout_seconds: SWIFT_IDLE_TIMEOUT_SECONDS,
      ...options,
    } as S3Options,
    'test config',
  );
  return new S3Sink({ ...settings, retryBaseDelayMs: 20 }, log);
}

async function listed(sink: S3Sink, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of sink.list(prefix)) keys.push(`${object.key}:${object.size}`);
  return keys;
}

async function failure(promise: Promise<unknown>): Promise<RastError> {
  try {
    await promise;
  } catch (error) {
    return error as RastError;
  }
  throw new Error('expected a failure');
}

// ---

const objects = suite('s3 sink: objects on a real S3 server (Swift s3api)');

let started = 0;
objects.before.each(() => {
  started = Date.now();
});
objects.after.each(() => {
  if (process.env.RAST_TEST_TIMES) process.stderr.write(`  ${Date.now() - started} ms\n`);
});

objects.before(async () => {
  if (swiftAvailable) swift = await startSwift();
});

testNeeding(
  objects,
  swiftAvailable,
  'python3-swift (OpenStack Swift with s3api)',
  'stores, reads, lists and deletes plain objects under its prefix',
  async () => {
    const bucket = await newBucket();
    const sink = sinkFor({ bucket, prefix: 'host-a' });
    const neighbour = sinkFor({ bucket, prefix: 'host-b/' });
    await sink.put('backups/a.json', Buffer.from('{}'));
    await sink.put('data/a/000000.part', Buffer.from('part zero'));
    await neighbour.put('data/a/000000.part', Buffer.from('not mine'));
    assert.equal(await listed(sink, 'data/'), ['data/a/000000.part:9']);
    assert.equal(await listed(sink, ''), ['backups/a.json:2', 'data/a/000000.part:9']);
    assert.is((await sink.get('data/a/000000.part')).toString(), 'part zero');
    const into = Buffer.alloc(20);
    assert.is(await sink.readInto('data/a/000000.part', into), 9);
    assert.is(into.subarray(0, 9).toString(), 'part zero');
    assert.is(await sink.readInto('data/a/000000.part', Buffer.alloc(4)), 9, 'a larger object: its size only');
    await sink.delete('data/a/000000.part');
    await sink.delete('data/a/000000.part');
    const missing = await failure(sink.get('data/a/000000.part'));
    assert.is(missing.code, ErrorCode.PART_MISSING);
    assert.is((await failure(sink.readInto('data/a/000000.part', into))).code, ErrorCode.PART_MISSING);
    assert.match(
      missing.message,
      /data\/a\/000000\.part is missing from sink s3 \(s3:\/\/sink-test-\d+\/host-a\/ at http:\/\/127\.0\.0\.1:\d+\)/,
    );
    assert.equal(await listed(neighbour, ''), ['data/a/000000.part:8']);
    const raw = rawClient();
    const plain = await raw.send(
      new (await import('@aws-sdk/client-s3')).GetObjectCommand({ Bucket: bucket, Key: 'host-a/backups/a.json' }),
    );
    assert.is(await plain.Body!.transformToString(), '{}', 'stored under prefix + key, as a plain object');
    raw.destroy();
  },
);

testNeeding(
  objects,
  swiftAvailable,
  'python3-swift',
  'lists past 1,000 objects (a second page), and DeleteObjects (with Content-MD5) removes them',
  async () => {
    const bucket = await newBucket();
    const sink = sinkFor({ bucket, concurrency: 32 });
    const keys = Array.from({ length: 1001 }, (_, index) => `data/many/${String(index).padStart(6, '0')}.part`);
    await Promise.all(keys.map((key) => sink.put(key, Buffer.from(key))));
    const all = await listed(sink, 'data/many/');
    assert.is(all.length, 1001);
    assert.equal(
      all.map((entry) => entry.split(':')[0]),
      keys,
    );
    await sink.deleteMany(keys);
    assert.equal(await listed(sink, 'data/'), []);
  },
);

testNeeding(
  objects,
  swiftAvailable,
  'python3-swift',
  'a listing split at any known keys (present or not, fewer or more than a page holds, under a prefix) gives every object once, in order',
  async () => {
    const bucket = await newBucket();
    const keys = Array.from({ length: 1201 }, (_, index) => `backups/${String(index).padStart(6, '0')}.json`);
    const writer = sinkFor({ bucket, prefix: 'host/', concurrency: 32 });
    await Promise.all([...keys, 'backups/000010.json.sig', 'backupsX', 'data/a.part'].map((key) => writer.put(key, Buffer.from(key))));
    const whole = await listed(writer, 'backups/');
    assert.is(whole.length, 1202);
    for (const concurrency of [1, 32]) {
      const sink = sinkFor({ bucket, prefix: 'host/', concurrency });
      for (const known of [
        [],
        [keys[0]!],
        [keys[10]!, 'backups/000010.json.sig', keys[1100]!],
        ['backups/0001', keys[1200]!, 'backups/zzz'],
        keys.filter((_, index) => index % 10 === 0),
        keys,
      ]) {
        const split: string[] = [];
        for await (const object of sink.listSplit('backups/', known)) split.push(`${object.key}:${object.size}`);
        assert.equal(split, whole, `concurrency ${concurrency}, ${known.length} known keys`);
      }
    }
  },
);

testNeeding(
  objects,
  swiftAvailable,
  'python3-swift',
  'large objects go up in several pieces (multipart) and come back identical',
  async () => {
    const bucket = await newBucket();
    const sink = sinkFor({ bucket, multipart_threshold_mib: 5, multipart_chunk_mib: 5 });
    const data = randomBytes(12 * 1024 * 1024 + 3);
    await sink.put('data/big/000000.part', data);
    assert.equal(await listed(sink, 'data/big/'), [`data/big/000000.part:${data.length}`]);
    assert.ok((await sink.get('data/big/000000.part')).equals(data));
    const raw = rawClient();
    const uploads = await raw.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    assert.is(uploads.Uploads?.length ?? 0, 0, 'no multipart upload left open');
    raw.destroy();
  },
);

testNeeding(
  objects,
  swiftAvailable,
  'python3-swift',
  'streamed objects: read comes back in chunks; write goes up in pieces, and an error from its chunks leaves no object',
  async () => {
    const bucket = await newBucket();
    const sink = sinkFor({ bucket, multipart_threshold_mib: 5, multipart_chunk_mib: 5 });
    const data = randomBytes(12 * 1024 * 1024 + 3);
    async function* chunks(fail = false) {
      for (let offset = 0; offset < data.length; offset += 1 << 20) yield data.subarray(offset, offset + (1 << 20));
      if (fail) throw new Error('found damaged at its end');
    }
    const error = await sink.write('data/big/000000.part', chunks(true), data.length).catch((caught: unknown) => caught);
    assert.match((error as Error).message, /^found damaged at its end$/, 'rethrown as it is');
    assert.equal(await listed(sink, 'data/big/'), []);
    const raw = rawClient();
    assert.is((await raw.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads?.length ?? 0, 0, 'the upload was aborted');
    await sink.write('data/big/000000.part', chunks(), data.length);
    const small = data.subarray(0, 1000);
    await sink.write(
      'data/small',
      (async function* () {
        yield small;
      })(),
      small.length,
    );
    assert.ok((await sink.get('data/small')).equals(small), 'below the threshold: put whole');
    const read: Buffer[] = [];
    for await (const chunk of sink.read('data/big/000000.part')) read.push(chunk);
    assert.ok(read.length > 1, 'in chunks');
    assert.ok(Buffer.concat(read).equals(data));
    assert.is((await raw.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads?.length ?? 0, 0);
    raw.destroy();
    const missing = await (async () => {
      for await (const _ of sink.read('data/none')) return undefined;
    })().catch((caught: unknown) => caught);
    assert.is((missing as RastError).code, ErrorCode.PART_MISSING);
  },
);

testNeeding(
  objects,
  swiftAvailable,
  'python3-swift',
  'the catalog downloads a manifest once, and again when its ETag changes at the same size',
  async () => {
    const bucket = await newBucket();
    const home = await temporaryDirectory();
    const proxy = await startFaultProxy(swift.port, () => undefined);
    try {
      const config = path.join(home, 'config.toml');
      const lines = [
        '[s3]',
        `endpoint = "${proxy.endpoint}"`,
        `access_key_id = "${swift.accessKeyId}"`,
        `secret_access_key = "${swift.secretAccessKey}"`,
        `bucket = "${bucket}"`,
        'prefix = "cached"',
        '',
      ];
      await writeFile(config, lines.join('\n'), { mode: 0o600 });
      const source = path.join(home, 'source');
      await mkdir(source);
      await writeFile(path.join(source, 'a.txt'), 'a\n');
      const runtime = () =>
        createRuntime({
          configFile: config,
          defaultPresets: [s3, directory, zstd],
          resolveFrom: [],
          log: silentLogger(),
          stateDirectory: path.join(home, 'state'),
        });
      const made = await createBackup(await runtime(), { path: source });
      const key = `cached/backups/${made.id}.json`;
      const gets = () => proxy.requests.filter((request) => request.startsWith('GET') && request.includes(key)).length;
      const hosts = async () => (await (await runtime()).repository.catalog.entries()).map((entry) => entry.manifest.host);

      const before = gets();
      assert.equal(await hosts(), [made.host]);
      assert.is(gets() - before, 1, 'a manifest new to this host is downloaded');
      assert.equal(await hosts(), [made.host]);
      assert.is(gets() - before, 1, 'a listed manifest with the cached ETag is not');

      const raw = rawClient();
      const stored = Buffer.from(
        await (await raw.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray(),
      ).toString();
      const other = 'x'.repeat(made.host.length);
      await raw.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: stored.replace(`"host": ${JSON.stringify(made.host)}`, `"host": "${other}"`),
        }),
      );
      raw.destroy();
      assert.equal(await hosts(), [other], 'the same size with another ETag is downloaded again');
      assert.is(gets() - before, 2);
    } finally {
      await proxy.close();
    }
  },
);

// ---

testNeeding(
  objects,
  swiftAvailable,
  'python3-swift',
  'a backup survives 500, 503, resets, cut bodies and slow answers, and restores byte-identical',
  async () => {
    const bucket = await newBucket();
    // Every second request gets the next fault; a cut body only where there is a body to cut.
    const kinds: Array<(request: { method?: string }) => Fault> = [
      () => ({ kind: 'status', status: 500 }),
      () => ({ kind: 'status', status: 503 }),
      () => ({ kind: 'reset' }),
      (request) => (request.method === 'GET' ? { kind: 'truncate', afterBytes: 100 } : { kind: 'reset' }),
      () => ({ kind: 'delay', ms: 900 }),
      () => ({ kind: 'delay', ms: 150 }),
    ];
    let faults = 0;
    const proxy = await startFaultProxy(swift.port, (request, sequence) =>
      sequence % 2 === 0 ? kinds[faults++ % kinds.length]!(request) : undefined,
    );
    try {
      const home = await temporaryDirectory();
      const config = path.join(home, 'config.toml');
      await writeFile(
        config,
        [
          '[backup]',
          'part_size_mib = 1',
          '',
          '[s3]',
          `endpoint = "${proxy.endpoint}"`,
          `access_key_id = "${swift.accessKeyId}"`,
          `secret_access_key = "${swift.secretAccessKey}"`,
          `bucket = "${bucket}"`,
          'prefix = "faulty"',
          'idle_timeout_seconds = 0.8',
          'max_attempts = 6',
          'multipart_threshold_mib = 5',
          'multipart_chunk_mib = 5',
          '',
        ].join('\n'),
      );
      const source = path.join(home, 'source');
      await mkdir(path.join(source, 'sub'), { recursive: true });
      // Random data does not compress: four 1 MiB parts. The 6 MiB object below goes through the faults as a multipart upload.
      await writeFile(path.join(source, 'random.bin'), randomBytes(3 * 1024 * 1024 + 5));
      await writeFile(path.join(source, 'sub', 'small.txt'), 'small\n');
      const runtime = await createRuntime({
        configFile: config,
        defaultPresets: [s3, directory, zstd],
        resolveFrom: [],
        log: silentLogger(),
      });
      const manifest = await createBackup(runtime, { path: source });
      const sink = runtime.sinks[0] as S3Sink;
      const big = randomBytes(6 * 1024 * 1024);
      await sink.put('data/extra/big', big);
      assert.ok((await sink.get('data/extra/big')).equals(big));
      await sink.delete('data/extra/big');

      const again = await createRuntime({
        configFile: config,
        defaultPresets: [s3, directory, zstd],
        resolveFrom: [],
        log: silentLogger(),
      });
      const destination = path.join(home, 'restored');
      await restoreBackup(again, { backup: manifest.id, destination, include: [] });
      await verifyBackup(again, { backup: 'latest' });
      const digest = async (file: string) =>
        createHash('sha256')
          .update(await readFile(file))
          .digest('hex');
      assert.is(await digest(path.join(destination, 'random.bin')), await digest(path.join(source, 'random.bin')));
      assert.is(await readFile(path.join(destination, 'sub', 'small.txt'), 'utf8'), 'small\n');
      for (const kind of ['500', '503', 'reset', 'truncate', 'delay'])
        assert.ok((proxy.injected[kind] ?? 0) > 0, `injected ${kind}: ${JSON.stringify(proxy.injected)}`);
    } finally {
      await proxy.close();
    }
  },
);

// ---

testNeeding(
  objects,
  swiftAvailable,
  'python3-swift',
  'wrong credentials, a missing bucket and an unreachable endpoint: one message naming sink, endpoint and bucket',
  async () => {
    const bucket = await newBucket();
    const proxy = await startFaultProxy(swift.port, () => undefined);
    try {
      const wrongSecret = sinkFor({ bucket, endpoint: proxy.endpoint, secret_access_key: 'wrong' });
      const denied = await failure(wrongSecret.put('data/x/000000.part', Buffer.from('x')));
      assert.is(denied.code, ErrorCode.SINK_FAILED);
      assert.match(
        denied.message,
        new RegExp(
          `^sink s3 \\(s3://${bucket}/ at ${proxy.endpoint}\\): cannot store data/x/000000.part: the credentials were refused \\(SignatureDoesNotMatch 403`,
        ),
      );
      assert.not.match(denied.message, /\n/);
      assert.is(proxy.requests.length, 1, 'a refusal is not retried');

      const noBucket = await failure(sinkFor({ bucket: 'no-such-bucket' }).put('data/x/000000.part', Buffer.from('x')));
      assert.match(
        noBucket.message,
        /^sink s3 \(s3:\/\/no-such-bucket\/ at http:\/\/127\.0\.0\.1:\d+\): cannot store .*: bucket no-such-bucket does not exist/,
      );

      const closed = await failure(listed(sinkFor({ bucket, endpoint: 'http://127.0.0.1:9', max_attempts: 2 }), ''));
      assert.match(
        closed.message,
        /^sink s3 \(s3:\/\/sink-test-\d+\/ at http:\/\/127\.0\.0\.1:9\): cannot list the bucket: the endpoint is unreachable \(ECONNREFUSED\)/,
      );
    } finally {
      await proxy.close();
    }
  },
);

testNeeding(
  objects,
  swiftAvailable,
  'python3-swift',
  'a split listing retries 503s and logs them; a missing bucket or a refused key fails in one line naming the sink',
  async () => {
    const bucket = await newBucket();
    const keys = Array.from({ length: 60 }, (_, index) => `backups/${String(index).padStart(4, '0')}.json`);
    await Promise.all(keys.map((key) => sinkFor({ bucket }).put(key, Buffer.from(key))));
    const proxy = await startFaultProxy(swift.port, (_request, sequence) =>
      sequence % 2 === 0 ? { kind: 'status', status: 503 } : undefined,
    );
    try {
      const messages: string[] = [];
      const log = { ...silentLogger(), info: (message: string) => messages.push(message) };
      const sink = sinkFor({ bucket, endpoint: proxy.endpoint, concurrency: 4, max_attempts: 4 }, log);
      const split: string[] = [];
      for await (const object of sink.listSplit(
        'backups/',
        keys.filter((_, index) => index % 7 === 0),
      ))
        split.push(object.key);
      assert.equal(split, keys);
      assert.ok((proxy.injected['503'] ?? 0) > 0);
      assert.ok(
        messages.some((message) => /^sink s3: list backups\/: try \d failed \(/.test(message)),
        messages.join('\n'),
      );

      const absent = await failure(
        (async () => {
          for await (const object of sinkFor({ bucket: 'no-such-bucket' }).listSplit('backups/', [])) void object;
        })(),
      );
      assert.is(absent.code, ErrorCode.SINK_FAILED);
      assert.match(
        absent.message,
        /^sink s3 \(s3:\/\/no-such-bucket\/ at http:\/\/127\.0\.0\.1:\d+\): cannot list backups\/: bucket no-such-bucket does not exist/,
      );
      const refused = await failure(
        (async () => {
          for await (const object of sinkFor({ bucket, secret_access_key: 'wrong' }).listSplit('backups/', keys)) void object;
        })(),
      );
      assert.match(refused.message, /cannot list backups\/: the credentials were refused \(SignatureDoesNotMatch 403/);
      assert.not.match(refused.message, /\n/);
    } finally {
      await proxy.close();
    }
  },
);

objects.after(async () => {
  await swift?.stop();
});

objects.run();
