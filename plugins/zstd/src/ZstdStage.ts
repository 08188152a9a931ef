import { createRequire } from 'node:module';
import type { WorkerStage } from '@rast-backup/core';

/** ZSTD_COMPRESSBOUND: the largest frame libzstd makes from `size` bytes. */
export function compressBound(size: number): number {
  return size + Math.floor(size / 256) + (size < 128 * 1024 ? Math.floor((128 * 1024 - size) / 2048) : 0);
}

/**
 * The core's worker-thread stage of the zstd transform: one self-contained frame per part (content size, no
 * checksum), the same bytes as ZstdWorker, written straight into the core's buffer.
 */
export default function zstdStage(options: unknown): WorkerStage {
  const { level } = options as { level: number };
  const require = createRequire(import.meta.url);
  let binding: typeof import('zstd-napi/binding.js');
  try {
    binding = require('zstd-napi/binding.js') as typeof import('zstd-napi/binding.js');
  } catch (error) {
    throw new Error(`the zstd binding (zstd-napi) could not be loaded: ${(error as Error).message}; reinstall rast-backup (it builds with node-gyp)`);
  }
  const context = new binding.CCtx();
  context.setParameter(binding.CParameter.compressionLevel, level);
  context.setParameter(binding.CParameter.contentSizeFlag, 1);
  context.setParameter(binding.CParameter.checksumFlag, 0);
  return (input, output) => context.compress2(output, input);
}
