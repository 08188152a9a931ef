import type { DecoderStage, DecoderStageFactory, WorkerStage, WorkerStageFactory } from './types.js';

const stages = new Map<string, Promise<WorkerStage | DecoderStage>>();

/** The stage a module's default export makes from `options`, made once per module and options in this thread. */
export function stageOf(module: string, options: unknown): Promise<WorkerStage>;
export function stageOf(module: string, options: unknown, role: 'decoder'): Promise<DecoderStage>;
export function stageOf(module: string, options: unknown): Promise<WorkerStage | DecoderStage> {
  const key = `${module}\0${JSON.stringify(options ?? null)}`;
  let stage = stages.get(key);
  if (!stage) {
    stage = import(module).then((loaded: { default: WorkerStageFactory | DecoderStageFactory }) => loaded.default(options));
    stages.set(key, stage);
  }
  return stage;
}
