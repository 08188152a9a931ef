import { createHash } from 'node:crypto';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { limitYoungGeneration } from './AllocatorGrowth.js';
import { stageFailure, type StageFailure } from './StageFailure.js';
import { stageOf } from './StageModules.js';
import { collectAllGarbage, collectYoungGarbage, collectYoungGarbageAfterTask } from './WorkerGarbage.js';

// A worker thread's start sets V8's flags back to their defaults, for the whole process: set again here.
limitYoungGeneration();

export interface EncoderJob {
  /** Holds the plaintext part in its first `length` bytes, and the result at the end: a slot shared with the main thread. */
  memory: SharedArrayBuffer;
  length: number;
  /** Room every stage's output needs; `memory` has at least this many bytes. */
  capacity: number;
  stages: Array<{ module: string; options: unknown; prepared: unknown }>;
}

export type EncoderResult = { length: number; sha256: string } | ({ failed: number } & StageFailure);

export interface DecoderJob {
  /** Decoder stages run in turn, each on the output of the one before. */
  stages: Array<{ module: string; options: unknown; prepared: unknown }>;
  /** The stored bytes (moved here when the caller owned all of their memory). */
  data: Uint8Array;
  /** The SHA-256 (hex) `data` must have: checked before any stage runs. */
  sha256?: string;
  /**
   * Memory shared with the main thread (reused from part to part) that the decoded bytes end in, when they fit;
   * `data` may be a view of it, at its end (decoded in place: see DecoderWorker.headroom).
   */
  into?: SharedArrayBuffer;
}

/**
 * The decoded bytes: `length` bytes at `offset` of `buffer` (moved, not copied), or of the job's `into`
 * (`buffer` absent); or `data` has SHA-256 `mismatch`, not the one expected; or stage number `failed` threw.
 */
export type DecoderResult =
  { buffer?: ArrayBuffer; offset: number; length: number } | { mismatch: string } | ({ failed: number } & StageFailure);

/** This thread's scratch memory: the stages write alternately into it and into the job's memory. */
let scratch: ArrayBuffer | undefined;

/**
 * Runs in a worker thread (piscina): every transform of one part in turn, then its SHA-256; the result ends in the job's memory.
 * A job needing less than a quarter of the scratch (a file index's block after the parts) makes a scratch of its
 * size: the part-sized one, and the part slots this thread saw, are collected at once, not held while the index is written.
 */
export default async function encode(job: EncoderJob): Promise<unknown> {
  if (scratch && scratch.byteLength > 4 * job.capacity) {
    scratch = undefined;
    collectAllGarbage();
  }
  if (!scratch || scratch.byteLength < job.capacity) scratch = new ArrayBuffer(job.capacity);
  const home = Buffer.from(job.memory, 0, job.capacity);
  const spare = Buffer.from(scratch, 0, job.capacity);
  let current: Buffer = home;
  let length = job.length;
  for (const [index, { module, options, prepared }] of job.stages.entries()) {
    const output = current === home ? spare : home;
    try {
      const stage = await stageOf(module, options);
      length = stage(current.subarray(0, length), output, prepared, collectYoungGarbage);
    } catch (error) {
      return { failed: index, ...stageFailure(error) } satisfies EncoderResult;
    }
    current = output;
  }
  if (current !== home) spare.copy(home, 0, 0, length);
  const sha256 = createHash('sha256').update(home.subarray(0, length)).digest('hex');
  collectYoungGarbage();
  return { length, sha256 } satisfies EncoderResult;
}

/** Runs in a worker thread (piscina, `name: 'decode'`): checks one stored part's SHA-256, then runs the decoder stages over it. */
export async function decode(job: DecoderJob): Promise<unknown> {
  let output: Uint8Array = job.data;
  try {
    const input = Buffer.from(job.data.buffer, job.data.byteOffset, job.data.byteLength);
    if (job.sha256) {
      const digest = createHash('sha256').update(input).digest('hex');
      if (digest !== job.sha256) return { mismatch: digest } satisfies DecoderResult;
    }
    const into = job.into && Buffer.from(job.into);
    for (const [index, { module, options, prepared }] of job.stages.entries()) {
      try {
        const stage = await stageOf(module, options, 'decoder');
        const last = index === job.stages.length - 1;
        // Input stored in `into` (decoded in place): the output memory ends where the input ends.
        const room = into && output.buffer === job.into ? into.subarray(0, output.byteOffset + output.byteLength) : into;
        output = await stage(
          Buffer.from(output.buffer, output.byteOffset, output.byteLength),
          prepared,
          collectYoungGarbage,
          last ? room : undefined,
        );
      } catch (error) {
        return { failed: index, ...stageFailure(error) } satisfies DecoderResult;
      }
    }
    if (into && output.byteLength <= into.length) {
      if (output.buffer !== job.into) into.set(output);
      const offset = output.buffer === job.into ? output.byteOffset : 0;
      return { offset, length: output.byteLength } satisfies DecoderResult;
    }
  } finally {
    collectYoungGarbageAfterTask(); // the part moved in
  }
  // The output's whole memory is moved back, unless it is small enough to be a slice of Node's shared pool.
  const owned = output.buffer instanceof ArrayBuffer && output.buffer.byteLength > Buffer.poolSize;
  const buffer = owned ? (output.buffer as ArrayBuffer) : new Uint8Array(output).buffer;
  const result: DecoderResult = owned
    ? { buffer, offset: output.byteOffset, length: output.byteLength }
    : { buffer, offset: 0, length: output.byteLength };
  return move({ [transferableSymbol]: buffer, [valueSymbol]: result } as never);
}

/**
 * Runs in a worker thread (piscina, `name: 'release'`): lets go of the part-sized scratch and collects, so that a
 * phase after the parts (a full backup's file index, built on the main thread) does not hold it. Stays busy a
 * little, so that the same call made at once for each thread (releaseThreadMemory) reaches each thread.
 */
export async function release(): Promise<void> {
  scratch = undefined;
  collectAllGarbage();
  await new Promise((resolve) => setTimeout(resolve, 20));
}

/**
 * Runs in a worker thread (piscina, `name: 'collect'`): a full collection, so that shared memory a job was given (a
 * block's, BlockMemory) and its reader let go is freed: that needs every thread that saw it to collect. Stays busy a
 * little, as release does, so that the same call made for each thread reaches each.
 */
export async function collect(): Promise<void> {
  collectAllGarbage();
  await new Promise((resolve) => setTimeout(resolve, 5));
}
