import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { decodeHere, decodePart, encodeHere, TransformStage, type Transform, type TransformDecoder } from '@rast-backup/core';
import { testNeeding } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { compressBound } from './CompressionContext.js';
import { inPlaceMargin } from './InPlaceMargin.js';
import zstdDecoderStage from './ZstdDecoderStage.js';
import zstdStage from './ZstdStage.js';

const hasZstd = spawnSync('zstd', ['--version']).status === 0;
const test = suite('zstd transform');

/** Text-like and random data in turns: where zstd 1.5.7's block pre-splitter would look for a split. */
function mixed(size: number): Buffer {
  const words = Array.from({ length: 500 }, (_, i) => `word${i.toString(36)} `).join('');
  const chunks: Buffer[] = [];
  for (let length = 0; length < size; length += 256 * 1024) {
    chunks.push(
      chunks.length % 2
        ? randomBytes(256 * 1024)
        : Buffer.from(words.repeat(Math.ceil((256 * 1024) / words.length))).subarray(0, 256 * 1024),
    );
  }
  return Buffer.concat(chunks).subarray(0, size);
}

function stageCompress(data: Buffer, level = 3): Buffer {
  const output = Buffer.alloc(compressBound(data.length));
  return output.subarray(
    0,
    zstdStage({ level })(data, output, undefined, () => {}),
  );
}

const transform: Transform = {
  name: 'zstd',
  plugin: 'test@1',
  stage: TransformStage.COMPRESS,
  params: { level: 3 },
  worker: { module: new URL('./ZstdStage.js', import.meta.url).href, options: { level: 3 }, bound: compressBound },
};
const decoder: TransformDecoder = { worker: { module: new URL('./ZstdDecoderStage.js', import.meta.url).href } };

test('the worker stage and the main-thread adapter of the core make the same frames, which decode in the worker pool and here', async () => {
  for (const data of [Buffer.alloc(0), Buffer.from('a'), mixed(3 * 1024 * 1024)]) {
    const framed = stageCompress(data);
    assert.ok(framed.equals(await encodeHere(transform.worker, Buffer.from(data))), `${data.length} bytes`);
    assert.ok((await decodePart(decoder.worker, Buffer.from(framed), {})).equals(data), `${data.length} bytes round trip`);
    assert.ok((await decodeHere(decoder.worker, framed, {})).equals(data), `${data.length} bytes round trip on this thread`);
  }
});

test('the block pre-splitter is off: parameter 1017 is ZSTD_c_blockSplitterLevel (0–6) in the bundled libzstd, set to 1', () => {
  const binding = createRequire(import.meta.url)('zstd-napi/binding.js') as typeof import('zstd-napi/binding.js');
  assert.equal(binding.cParamGetBounds(1017 as never), { lowerBound: 0, upperBound: 6 });
  const unsplit = new binding.CCtx();
  unsplit.setParameter(binding.CParameter.compressionLevel, 3);
  unsplit.setParameter(binding.CParameter.contentSizeFlag, 1);
  unsplit.setParameter(binding.CParameter.checksumFlag, 0);
  unsplit.setParameter(1017 as never, 1);
  const data = mixed(4 * 1024 * 1024);
  const output = Buffer.alloc(compressBound(data.length));
  assert.ok(stageCompress(data).equals(output.subarray(0, unsplit.compress2(output, data))));
});

testNeeding(test, hasZstd, 'the zstd command', 'frames decode with the zstd command (recovery without rast-backup)', () => {
  const data = mixed(2 * 1024 * 1024);
  const result = spawnSync('zstd', ['-d', '-c'], { input: stageCompress(data, 3), maxBuffer: 64 * 1024 * 1024 });
  assert.is(result.status, 0, String(result.stderr));
  assert.ok(Buffer.from(result.stdout).equals(data));
});

test('a frame at the end of the output memory decodes in place with the margin, and through a copy with less room', async () => {
  const stage = zstdDecoderStage();
  for (const data of [mixed(4 * 2 ** 20), randomBytes(2 ** 20)]) {
    const frame = stageCompress(data);
    for (const room of [inPlaceMargin(data.length), 1024, 0]) {
      const memory = Buffer.alloc(Math.max(data.length + room, frame.length));
      frame.copy(memory, memory.length - frame.length);
      const input = memory.subarray(memory.length - frame.length);
      const output = await stage(input, undefined, () => {}, memory);
      assert.is(output.buffer, memory.buffer, 'not decoded into the memory given');
      assert.ok(Buffer.from(output).equals(data), `decoded wrong with ${room} bytes of room`);
    }
  }
});

test.run();
