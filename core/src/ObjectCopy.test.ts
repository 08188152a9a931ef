import { createHash } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ErrorCode, RastError } from './errors.js';
import { copyObject } from './ObjectCopy.js';
import { MemorySink } from './testing.js';

const KEY = 'data/20261127T164554Z-cba6cf/000000.part';
const good = Buffer.from('the stored bytes of a part');
const record = { key: KEY, storedSize: good.length, sha256: createHash('sha256').update(good).digest('hex') };

/** Three sinks: the first holds a damaged copy (same size), the second a good one, the target none. */
function sinks() {
  const damaged = new MemorySink('damaged');
  const healthy = new MemorySink('healthy');
  const target = new MemorySink('target');
  const bad = Buffer.from(good);
  bad[3] ^= 0xff;
  damaged.objects.set(KEY, bad);
  healthy.objects.set(KEY, Buffer.from(good));
  return { damaged, healthy, target };
}

// ---

const copy = suite('copyObject');

copy('passes over a damaged copy and copies the good one from the next sink', async () => {
  const { damaged, healthy, target } = sinks();
  const copied = await copyObject(record, [damaged, healthy], target, { durable: true });
  assert.equal(target.objects.get(KEY), good);
  assert.ok(target.durable.has(KEY));
  assert.is(copied.from, 'healthy');
  assert.is(copied.bytes, good.length);
  assert.equal(
    copied.passed.map((pass) => pass.sink),
    ['damaged'],
  );
  assert.match(copied.passed[0]!.problem, /damaged: SHA-256/);
});

copy('writes nothing when no sink holds a good copy, naming the object and each sink', async () => {
  const { damaged, target } = sinks();
  const empty = new MemorySink('empty');
  const error = await copyObject(record, [damaged, empty], target, { label: 'backup x, part 1 of 1' }).catch((failure: unknown) => failure);
  assert.instance(error, RastError);
  assert.is((error as RastError).code, ErrorCode.PART_DAMAGED);
  assert.match(
    (error as RastError).message,
    /backup x, part 1 of 1 \(data\/.*000000\.part\): no good copy to copy to sink target \(damaged: damaged: SHA-256 .*; empty: .*missing/,
  );
  assert.is(target.objects.size, 0);
  assert.equal(target.calls, []);
});

copy('PART_MISSING when no sink has the object at all', async () => {
  const error = await copyObject(record, [new MemorySink('a')], new MemorySink('b')).catch((failure: unknown) => failure);
  assert.is((error as RastError).code, ErrorCode.PART_MISSING);
});

copy('without a SHA-256, checks the size only', async () => {
  const { healthy, target } = sinks();
  await copyObject({ key: KEY, storedSize: good.length }, [healthy], target);
  assert.equal(target.objects.get(KEY), good);
  const short = await copyObject({ key: KEY, storedSize: good.length + 1 }, [healthy], new MemorySink('t')).catch(
    (failure: unknown) => failure,
  );
  assert.is((short as RastError).code, ErrorCode.PART_DAMAGED);
});

copy("the target's failure to store names the target", async () => {
  const { healthy, target } = sinks();
  target.failPutsMatching = /part/;
  const error = await copyObject(record, [healthy], target).catch((failure: unknown) => failure);
  assert.is((error as RastError).code, ErrorCode.SINK_FAILED);
  assert.match((error as RastError).message, /sink target \(memory:\/\/\): cannot store data\/.*: refusing/);
});

/** A memory sink that also reads and writes in chunks (of 5 bytes), as the local and S3 sinks do. */
class StreamingSink extends MemorySink {
  async *read(key: string): AsyncIterable<Buffer> {
    const data = await this.get(key);
    for (let offset = 0; offset < data.length; offset += 5) yield data.subarray(offset, offset + 5);
  }

  async write(key: string, chunks: AsyncIterable<Buffer>): Promise<void> {
    this.calls.push(`write ${key}`);
    const gathered: Buffer[] = [];
    for await (const chunk of chunks) gathered.push(chunk);
    await this.put(key, Buffer.concat(gathered));
  }
}

copy('streamed: passes over a copy found damaged at its end, writes nothing of it, and copies the good one', async () => {
  const bad = Buffer.from(good);
  bad[good.length - 1] ^= 0xff;
  const [damaged, healthy, target] = [new StreamingSink('damaged'), new StreamingSink('healthy'), new StreamingSink('target')];
  damaged.objects.set(KEY, bad);
  healthy.objects.set(KEY, Buffer.from(good));
  const copied = await copyObject(record, [damaged, healthy], target);
  assert.equal(target.objects.get(KEY), good);
  assert.equal(target.calls, [`write ${KEY}`, `write ${KEY}`, `put ${KEY}`], 'the first write never stored anything');
  assert.is(copied.from, 'healthy');
  assert.match(copied.passed[0]!.problem, /damaged: SHA-256/);

  const only = new StreamingSink('only');
  only.objects.set(KEY, Buffer.concat([good, Buffer.from('more')]));
  const empty = new StreamingSink('empty');
  const error = await copyObject(record, [only], empty).catch((caught: unknown) => caught);
  assert.instance(error, RastError);
  assert.is((error as RastError).code, ErrorCode.PART_DAMAGED);
  assert.match((error as Error).message, /damaged: size above/);
  assert.is(empty.objects.size, 0);
});

copy.run();
