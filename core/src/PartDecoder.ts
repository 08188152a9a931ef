import pLimit, { type LimitFunction } from 'p-limit';
import { ErrorCode, RastError } from './errors.js';
import type { DecoderJob, DecoderResult } from './PartWorker.js';
import { stageError } from './StageFailure.js';
import { transferList } from './Transfer.js';
import type { DecoderWorker, StoredObject } from './types.js';
import { workerPool } from './WorkerPool.js';

/**
 * One part at a time per decoder stage: parts read ahead move through a backup's decoders as through a
 * pipeline, each stage busy in one thread of the pool, so that memory holds a part per stage rather than
 * one per thread (a thread decrypting and another decrypting the next part hold both, and their results).
 */
const stageTurns = new Map<string, LimitFunction>();

function turnOf(module: string): LimitFunction {
  let turn = stageTurns.get(module);
  if (!turn) {
    turn = pLimit(1);
    stageTurns.set(module, turn);
  }
  return turn;
}

/**
 * Undoes one transform of a stored part: the decoder stage's `prepare` on this thread, its stage in the
 * core's worker pool; `object` is where `data` was read from. Takes `data` over (its memory is moved to the worker when it owns all of it, else
 * copied). A stage's RastError keeps its code; any other failure is an Error with the stage's message.
 */
export async function decodePart(
  worker: DecoderWorker,
  data: Buffer,
  params: Record<string, unknown>,
  object?: StoredObject,
): Promise<Buffer> {
  const { module, options, prepare } = worker;
  const job: DecoderJob = { module, options, prepared: await prepare?.(data, params, object), data };
  let result: DecoderResult;
  try {
    result = await turnOf(module)(() => workerPool().run(job, { name: 'decode', transferList: transferList(data) }));
  } catch (error) {
    throw new RastError(ErrorCode.TRANSFORM_FAILED, `a worker thread failed: ${(error as Error).message}`, {}, { cause: error });
  }
  if ('failed' in result) throw stageError(result);
  return Buffer.from(result.buffer, result.offset, result.length);
}
