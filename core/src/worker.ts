// What a transform's or decoder's worker stage may import from the core: no more than these modules, so
// that a worker thread does not load the rest of the core.
export { collectYoungGarbage, collectYoungGarbageAfterTask } from './WorkerGarbage.js';
export { ErrorCode, RastError } from './errors.js';
export { libraryMissing } from './diagnostics/plugin.js';
export type { DecoderStage, DecoderStageFactory, WorkerStage, WorkerStageFactory } from './types.js';
// And what a source's reader thread may: exclude patterns, matched against index paths, and their order.
export { Exclusion } from './Exclusion.js';
export { indexPath } from './IndexPath.js';
export { compareNames } from './IndexOrder.js';
