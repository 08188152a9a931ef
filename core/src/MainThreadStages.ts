import { stageOf } from './StageModules.js';
import type { DecoderWorker, StoredObject, TransformWorker } from './types.js';

/** The main thread collects garbage as it always does. */
const noCollection = () => {};

/**
 * The core's adapter for running a transform's or a decoder's worker stage on the calling thread instead of the pool, e.g.
 * for a plugin's tests or a tool that encodes a few bytes: the same bytes as in a worker thread.
 */
export async function encodeHere(worker: TransformWorker, data: Buffer, object: StoredObject = { key: '' }): Promise<Buffer> {
  const { module, options, bound, prepare } = worker;
  const prepared = await prepare?.(object);
  const output = Buffer.allocUnsafeSlow(bound(data.length));
  const stage = await stageOf(module, options);
  return output.subarray(0, stage(data, output, prepared, noCollection));
}

/** A decoder's stage on the calling thread (see encodeHere). */
export async function decodeHere(
  worker: DecoderWorker,
  data: Buffer,
  params: Record<string, unknown>,
  object?: StoredObject,
): Promise<Buffer> {
  const { module, options, prepare } = worker;
  const prepared = await prepare?.(data, params, object);
  const stage = await stageOf(module, options, 'decoder');
  const output = await stage(data, prepared, noCollection);
  return Buffer.from(output.buffer, output.byteOffset, output.byteLength);
}
