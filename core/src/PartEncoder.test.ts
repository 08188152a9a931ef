import { createHash, randomBytes } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ErrorCode, RastError } from './errors.js';
import { encodeHere } from './MainThreadStages.js';
import { PartEncoder } from './PartEncoder.js';
import { addEncode } from './PartEncoderStage.fixture.js';
import { TransformStage } from './stages.js';
import type { Transform } from './types.js';

const module = new URL('./PartEncoderStage.fixture.js', import.meta.url).href;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

function adder(add: number): Transform {
  return {
    name: `add${add}`,
    plugin: 'test@1',
    stage: TransformStage.COMPRESS,
    params: {},
    worker: { module, options: { add }, bound: (size) => size + 1, prepare: async () => add },
  };
}

const encoder = suite('PartEncoder');

encoder('runs every stage in a worker, hashes the result, and reuses no more than its slots', async () => {
  const part = 64 * 1024;
  const parts = new PartEncoder([adder(1), adder(2)], part, 2);
  const memory = new Set<ArrayBufferLike>();
  for (let round = 0; round < 6; round++) {
    const plain = randomBytes(round === 5 ? 1000 : part);
    const buffer = await parts.buffer();
    plain.copy(buffer);
    const encoded = await parts.encode(`part ${round}`, buffer.subarray(0, plain.length));
    const expected = addEncode(addEncode(plain, 1, 1), 2, 2);
    assert.ok(encoded.data.equals(expected), `part ${round}`);
    assert.is(encoded.sha256, sha256(expected));
    memory.add(encoded.data.buffer);
    encoded.release();
  }
  // Every result is stored from one of the two slots; nothing new is allocated per part.
  assert.ok(memory.size <= 2, `${memory.size} buffers`);
});

encoder('buffer() waits while every slot is in use', async () => {
  const parts = new PartEncoder([adder(1)], 1024, 2);
  const first = await parts.buffer();
  await parts.buffer();
  let third = false;
  const waiting = parts.buffer().then(() => (third = true));
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.is(third, false);
  first.fill(7, 0, 10);
  (await parts.encode('p', first.subarray(0, 10))).release();
  await waiting;
  assert.is(third, true);
});

encoder('a stage that fails is named, and its slot is given back', async () => {
  const parts = new PartEncoder([adder(1), adder(2)], 1024, 1);
  const buffer = await parts.buffer();
  try {
    await parts.encode('backups/x/part-3', buffer.subarray(0, 12)); // add1 makes 13 bytes: add2 fails
    assert.unreachable('should fail');
  } catch (error) {
    assert.instance(error, RastError);
    assert.is((error as RastError).code, ErrorCode.TRANSFORM_FAILED);
    assert.match((error as Error).message, 'add2 (test@1) failed on backups/x/part-3: thirteen bytes');
  }
  assert.ok(
    await Promise.race([parts.buffer(), new Promise((resolve) => setTimeout(() => resolve(undefined), 200))]),
    'the slot came back',
  );
});

encoder('the main-thread adapter runs the same stage to the same bytes', async () => {
  const parts = new PartEncoder([adder(1), adder(2)], 1024, 1);
  const plain = randomBytes(100);
  const encoded = await parts.encode('p', Buffer.from(plain));
  const expected = addEncode(addEncode(plain, 1, 1), 2, 2);
  assert.ok(encoded.data.equals(expected));
  assert.is(encoded.sha256, sha256(expected));
  assert.ok((await encodeHere(adder(2).worker, await encodeHere(adder(1).worker, plain))).equals(expected));
});

encoder('data larger than a part (the file index) gets a buffer of its own', async () => {
  const parts = new PartEncoder([adder(3)], 1024, 1);
  const plain = randomBytes(5000);
  const encoded = await parts.encode('index', Buffer.from(plain));
  assert.ok(encoded.data.equals(addEncode(plain, 3, 3)));
  encoded.release();
});

encoder('an object that is not a part (a file index block) is encoded in a free slot, not in memory of its own', async () => {
  const parts = new PartEncoder([adder(1), adder(2)], 4096, 2);
  const slots = new Set<ArrayBufferLike>();
  for (let round = 0; round < 2; round++) {
    const buffer = await parts.buffer();
    slots.add(buffer.buffer);
    (await parts.encode(`part ${round}`, buffer.subarray(0, 4096))).release();
  }
  for (let block = 0; block < 20; block++) {
    const plain = randomBytes(1000 + block);
    const encoded = await parts.encode(`index ${block}`, Buffer.from(plain));
    assert.ok(encoded.data.equals(addEncode(addEncode(plain, 1, 1), 2, 2)), `block ${block}`);
    // Memory made per object (moved to a worker and back) is garbage the collector frees late: an incremental held 60 MiB of it.
    assert.ok(slots.has(encoded.data.buffer), `block ${block} was encoded in memory of its own`);
    encoded.release();
  }
  // A slot taken for an object comes back: both are free again.
  await parts.buffer();
  assert.ok(await Promise.race([parts.buffer().then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 200))]));
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Parts as create makes them: each filled in `fill` ms, then encoded and stored while the next fills; every store
 * that is under way during the stall (from part `stallAt` on, `stall` ms) ends only when the stall does. The slots made.
 */
async function produce(fill: number, store: number, stallAt: number, stall: number): Promise<number> {
  const parts = new PartEncoder([adder(1)], 4096, 4);
  let stalledUntil = 0;
  const flights: Array<Promise<void>> = [];
  for (let part = 0; part < 10; part++) {
    const buffer = await parts.buffer();
    await sleep(fill);
    if (part === stallAt) stalledUntil = Date.now() + stall;
    flights.push(
      parts.encode(`part ${part}`, buffer.subarray(0, 4096)).then(async (encoded) => {
        await sleep(Math.max(store, stalledUntil - Date.now()));
        encoded.release();
      }),
    );
  }
  await Promise.all(flights);
  return parts.slotsMade;
}

encoder('a source slower than encoding and storing gets two slots, and a stall of the stores makes no more', async () => {
  // Before: a slot was made whenever none was free, so a stall of 600 ms made all four.
  assert.is(await produce(150, 0, 3, 600), 2);
});

encoder('a source faster than encoding and storing gets every slot', async () => {
  assert.is(await produce(0, 60, -1, 0), 4);
});

encoder.run();
