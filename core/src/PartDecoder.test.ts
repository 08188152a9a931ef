import { createHash, randomBytes } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { byteTransform } from './ByteStages.fixture.js';
import { ErrorCode, RastError } from './errors.js';
import { decodeHere } from './MainThreadStages.js';
import { decodePart, decodeSteps } from './PartDecoder.js';
import type { DecoderWorker } from './types.js';

const xor: DecoderWorker = { module: new URL('./ByteDecoderStages.fixture.js', import.meta.url).href, options: { op: 'xor' } };

const decoder = suite('decodePart');

decoder('decodes in the worker pool, taking over a buffer that owns its memory and copying a view', async () => {
  const stored = randomBytes(3 * 1024 * 1024);
  const owned = Buffer.from(new Uint8Array(stored).buffer.slice(0));
  assert.ok((await decodePart(xor, owned, {})).equals(byteTransform('xor', stored)));
  assert.is(owned.length, 0, 'moved to the worker, not copied');
  const larger = Buffer.concat([Buffer.alloc(10), stored]);
  assert.ok((await decodePart(xor, larger.subarray(10), {})).equals(byteTransform('xor', stored)));
  assert.ok(larger.subarray(10).equals(stored), 'a view is left as it was');
});

decoder('small results (which a worker may keep in a shared pool) come back whole', async () => {
  for (const size of [0, 1, 100, 5000]) {
    const stored = randomBytes(size);
    assert.ok((await decodePart(xor, Buffer.from(stored), {})).equals(byteTransform('xor', stored)), `${size} bytes`);
  }
});

decoder('a stage that fails: an Error keeps its message, a RastError its code', async () => {
  const plain = await decodePart(xor, Buffer.alloc(13), {}).then(
    () => undefined,
    (error: Error) => error,
  );
  assert.ok(plain && !(plain instanceof RastError));
  assert.match(plain!.message, 'thirteen bytes');
  const coded = await decodePart(xor, Buffer.alloc(14), {}).then(
    () => undefined,
    (error: Error) => error,
  );
  assert.instance(coded, RastError);
  assert.is((coded as RastError).code, ErrorCode.TOOL_MISSING);
});

decoder('prepare runs on this thread with the stored bytes and the params, and the main-thread adapter decodes the same', async () => {
  const seen: unknown[] = [];
  const watched: DecoderWorker = { ...xor, prepare: async (data, params) => void seen.push(data.length, params) };
  const stored = randomBytes(1000);
  assert.ok(
    (await decodeHere(watched, Buffer.from(stored), { level: 1 })).equals(await decodePart(watched, Buffer.from(stored), { level: 1 })),
  );
  assert.equal(seen, [1000, { level: 1 }, 1000, { level: 1 }]);
});

decoder('steps run in one job: the SHA-256 of the stored bytes checked first, the next steps on the output', async () => {
  const reverse: DecoderWorker = { ...xor, options: { op: 'reverse' } };
  const busy = new Int32Array(new SharedArrayBuffer(12));
  const prepared: DecoderWorker = { ...xor, prepare: async () => ({ busy }) };
  const plain = randomBytes(100_000);
  const stored = byteTransform('xor', byteTransform('reverse', plain));
  const digest = createHash('sha256').update(stored).digest('hex');
  const steps = [
    { worker: prepared, params: {} },
    { worker: reverse, params: {} },
  ];
  const outcome = await decodeSteps(steps, Buffer.from(stored), undefined, digest);
  assert.ok('data' in outcome && outcome.data.equals(plain));
  assert.is(busy[1], 1, 'the prepared step ran once');
  const damaged = Buffer.from(stored);
  damaged[500]! ^= 1;
  const damagedDigest = createHash('sha256').update(damaged).digest('hex');
  assert.equal(await decodeSteps(steps, damaged, undefined, digest), { mismatch: damagedDigest });
  assert.is(Atomics.load(busy, 1), 1, 'a copy with another checksum is not decoded');
  const failed = await decodeSteps(
    [
      { worker: reverse, params: {} },
      { worker: xor, params: {} },
    ],
    Buffer.alloc(13),
  );
  assert.ok('failed' in failed && failed.failed === 0 && /thirteen bytes/.test(failed.error.message), 'names the step that failed');
  const none = await decodeSteps([], Buffer.from(stored), undefined, digest);
  assert.ok('data' in none && none.data.equals(stored), 'no step: checked and given back');
});

decoder.run();
