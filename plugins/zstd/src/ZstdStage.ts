import type { WorkerStage } from '@rast-backup/core/worker';
import { compressionContext } from './CompressionContext.js';

/**
 * The zstd transform's worker-thread stage: one self-contained frame per part (see compressionContext), written
 * straight into the core's buffer.
 */
export default function zstdStage(options: unknown): WorkerStage {
  const context = compressionContext((options as { level: number }).level);
  return (input, output) => context.compress2(output, input);
}
