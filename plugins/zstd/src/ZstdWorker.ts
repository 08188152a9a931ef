import { createRequire } from 'node:module';
import { collectYoungGarbageAfterTask } from '@rast-backup/core/worker';
import { move } from 'piscina';
import { compressBound, compressionContext, type CompressionContext } from './CompressionContext.js';

const require = createRequire(import.meta.url);
const zstd = require('zstd-napi') as typeof import('zstd-napi');

export interface ZstdTask {
  operation: 'compress' | 'decompress';
  data: Uint8Array;
  level: number;
}

const compressors = new Map<number, CompressionContext>();
const decompressor = new zstd.Decompressor();

/** Runs in a worker thread: one self-contained zstd frame per call (see compressionContext). */
export default function run(task: ZstdTask): ArrayBuffer {
  const input = Buffer.from(task.data.buffer, task.data.byteOffset, task.data.byteLength);
  let output: Buffer;
  if (task.operation === 'compress') {
    let compressor = compressors.get(task.level);
    if (!compressor) {
      compressor = compressionContext(task.level);
      compressors.set(task.level, compressor);
    }
    output = Buffer.allocUnsafeSlow(compressBound(input.length));
    output = output.subarray(0, compressor.compress2(output, input));
  } else {
    output = decompressor.decompress(input);
  }
  collectYoungGarbageAfterTask(); // the part moved in
  // Hand back an ArrayBuffer holding exactly the output (a small Buffer may be a view into a shared pool).
  const exact = output.byteOffset === 0 && output.byteLength === output.buffer.byteLength ? output.buffer : output.buffer.slice(output.byteOffset, output.byteOffset + output.byteLength);
  return move(exact as ArrayBuffer) as ArrayBuffer;
}
