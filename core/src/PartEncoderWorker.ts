import { createHash } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import type { WorkerStage, WorkerStageFactory } from './types.js';

export interface EncoderJob {
  /** Holds the plaintext part in its first `length` bytes; at least `capacity` bytes. */
  buffer: ArrayBuffer;
  length: number;
  /** Room every stage's output needs. */
  capacity: number;
  stages: Array<{ module: string; options: unknown; prepared: unknown }>;
}

export type EncoderResult = { buffer: ArrayBuffer; length: number; sha256: string } | { failed: number; message: string };

const stages = new Map<string, Promise<WorkerStage>>();
/** This thread's second buffer: each stage writes into it and hands back its input buffer as the next one. */
let spare: ArrayBuffer | undefined;

/**
 * Stages leave their scratch buffers (e.g. a cipher's output slices) as garbage that V8 only collects once
 * 64 MiB of it has piled up in this thread, because so few JS objects are made here. A minor collection
 * (1–2 ms) after each part, and whenever a stage asks, keeps it small.
 */
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as (options: { type: 'minor' | 'major' }) => void;
const collectYoung = () => collect({ type: 'minor' });

function stageFor(module: string, options: unknown): Promise<WorkerStage> {
  const key = `${module}\0${JSON.stringify(options ?? null)}`;
  let stage = stages.get(key);
  if (!stage) {
    stage = import(module).then((loaded: { default: WorkerStageFactory }) => loaded.default(options));
    stages.set(key, stage);
  }
  return stage;
}

/** Runs in a worker thread (piscina): every transform of one part in turn, then its SHA-256; hands back the buffer holding the result. */
export default async function encode(job: EncoderJob): Promise<unknown> {
  let current = job.buffer;
  let length = job.length;
  for (const [index, { module, options, prepared }] of job.stages.entries()) {
    const output = spare && spare.byteLength >= job.capacity ? spare : new ArrayBuffer(job.capacity);
    spare = undefined;
    try {
      const stage = await stageFor(module, options);
      length = stage(Buffer.from(current, 0, length), Buffer.from(output), prepared, collectYoung);
    } catch (error) {
      spare = output;
      return { failed: index, message: (error as Error).message } satisfies EncoderResult;
    }
    spare = current;
    current = output;
  }
  const sha256 = createHash('sha256').update(new Uint8Array(current, 0, length)).digest('hex');
  collect({ type: 'minor' });
  const result: EncoderResult = { buffer: current, length, sha256 };
  return move({ [transferableSymbol]: current, [valueSymbol]: result } as never);
}
