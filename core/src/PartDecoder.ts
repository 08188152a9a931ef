import { workerFailed } from './diagnostics/index.js';
import { sha256 } from './PartChecksum.js';
import type { DecoderJob, DecoderResult } from './PartWorker.js';
import { stageError } from './StageFailure.js';
import { transferList } from './Transfer.js';
import type { DecoderWorker, StoredObject } from './types.js';
import { workerPool } from './WorkerPool.js';

/** One transform to undo: its decoder's worker and the params the manifest recorded. */
export interface DecodeStep {
  worker: DecoderWorker;
  params: Record<string, unknown>;
}

/**
 * How decoding one stored object went: its plain bytes; or the stored bytes do not have the SHA-256 they
 * should (`mismatch`, what they have), so nothing was decoded; or step `failed` threw `error`.
 */
export type DecodeOutcome = { data: Buffer } | { mismatch: string } | { failed: number; error: Error };

/**
 * Undoes the steps (in the order given) on one stored object, in as few worker jobs as it can: a job runs
 * every step from one whose `prepare` ran here up to the next step with a `prepare` (none, usually: the
 * outer step, e.g. decryption, prepares; the inner ones, e.g. zstd, do not), so a part crosses between
 * threads once each way, its memory moved, never copied. With `expected`, the first job checks the stored
 * bytes' SHA-256 before decoding them: one pass over them, in the worker thread that decodes.
 * With `into`, the plain bytes end in that memory (shared, reused by the caller) when they fit.
 * Takes `data` over. A worker thread that dies is a TRANSFORM_FAILED RastError.
 */
export async function decodeSteps(
  steps: DecodeStep[],
  data: Buffer,
  object?: StoredObject,
  expected?: string,
  into?: SharedArrayBuffer,
): Promise<DecodeOutcome> {
  let at = 0;
  let checksum = expected;
  do {
    const job: DecoderJob = { stages: [], data, sha256: checksum };
    const first = at;
    for (; at < steps.length && (at === first || !steps[at]!.worker.prepare); at++) {
      const { worker, params } = steps[at]!;
      let prepared: unknown;
      try {
        prepared = at === first ? await worker.prepare?.(data, params, object) : undefined;
      } catch (error) {
        if (checksum) {
          const digest = await sha256(data);
          if (digest !== checksum) return { mismatch: digest };
        }
        return { failed: at, error: error as Error };
      }
      job.stages.push({ module: worker.module, options: worker.options, prepared });
    }
    if (at === steps.length) job.into = into;
    let result: DecoderResult;
    try {
      result = await workerPool().run(job, { name: 'decode', transferList: transferList(data) });
    } catch (error) {
      throw workerFailed(error);
    }
    if ('mismatch' in result) return { mismatch: result.mismatch };
    if ('failed' in result) return { failed: first + result.failed, error: stageError(result) };
    data = Buffer.from(result.buffer ?? into!, result.offset, result.length);
    checksum = undefined;
  } while (at < steps.length);
  return { data };
}

/**
 * Undoes one transform of a stored part: the decoder stage's `prepare` on this thread, its stage in the
 * core's worker pool; `object` is where `data` was read from. Takes `data` over (its memory is moved to the
 * worker when it owns all of it, else copied). A stage's RastError keeps its code; any other failure is an
 * Error with the stage's message.
 */
export async function decodePart(
  worker: DecoderWorker,
  data: Buffer,
  params: Record<string, unknown>,
  object?: StoredObject,
): Promise<Buffer> {
  const outcome = await decodeSteps([{ worker, params }], data, object);
  if ('failed' in outcome) throw outcome.error;
  return (outcome as { data: Buffer }).data;
}
