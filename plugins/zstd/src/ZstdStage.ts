import type { WorkerStage } from '@rast-backup/core';
import { compressionContext } from './CompressionContext.js';

/**
 * The core's worker-thread stage of the zstd transform: one self-contained frame per part, the same bytes as
 * ZstdWorker, written straight into the core's buffer.
 */
export default function zstdStage(options: unknown): WorkerStage {
  const context = compressionContext((options as { level: number }).level);
  return (input, output) => context.compress2(output, input);
}
