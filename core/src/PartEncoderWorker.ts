import { createHash } from 'node:crypto';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import type { WorkerStage, WorkerStageFactory } from './types.js';
import { collectYoungGarbage } from './WorkerGarbage.js';

export interface EncoderJob {
  /**
   * Holds the plaintext part in its first `length` bytes, and the result at the end: a slot shared with the
   * main thread, or memory moved here and back.
   */
  memory: SharedArrayBuffer | ArrayBuffer;
  length: number;
  /** Room every stage's output needs; `memory` has at least this many bytes. */
  capacity: number;
  stages: Array<{ module: string; options: unknown; prepared: unknown }>;
}

/** `memory` comes back only when it was moved here (not shared). */
export type EncoderResult = { memory?: ArrayBuffer; length: number; sha256: string } | { failed: number; message: string };

const stages = new Map<string, Promise<WorkerStage>>();
/** This thread's scratch memory: the stages write alternately into it and into the job's memory. */
let scratch: ArrayBuffer | undefined;

function stageFor(module: string, options: unknown): Promise<WorkerStage> {
  const key = `${module}\0${JSON.stringify(options ?? null)}`;
  let stage = stages.get(key);
  if (!stage) {
    stage = import(module).then((loaded: { default: WorkerStageFactory }) => loaded.default(options));
    stages.set(key, stage);
  }
  return stage;
}

/** Runs in a worker thread (piscina): every transform of one part in turn, then its SHA-256; the result ends in the job's memory. */
export default async function encode(job: EncoderJob): Promise<unknown> {
  if (!scratch || scratch.byteLength < job.capacity) scratch = new ArrayBuffer(job.capacity);
  const home = Buffer.from(job.memory, 0, job.capacity);
  const spare = Buffer.from(scratch, 0, job.capacity);
  let current = home;
  let length = job.length;
  for (const [index, { module, options, prepared }] of job.stages.entries()) {
    const output = current === home ? spare : home;
    try {
      const stage = await stageFor(module, options);
      length = stage(current.subarray(0, length), output, prepared, collectYoungGarbage);
    } catch (error) {
      return { failed: index, message: (error as Error).message } satisfies EncoderResult;
    }
    current = output;
  }
  if (current !== home) spare.copy(home, 0, 0, length);
  const sha256 = createHash('sha256').update(home.subarray(0, length)).digest('hex');
  collectYoungGarbage();
  if (job.memory instanceof SharedArrayBuffer) return { length, sha256 } satisfies EncoderResult;
  const result: EncoderResult = { memory: job.memory, length, sha256 };
  return move({ [transferableSymbol]: job.memory, [valueSymbol]: result } as never);
}
