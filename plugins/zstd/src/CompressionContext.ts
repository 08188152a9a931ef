import { createRequire } from 'node:module';
import { libraryMissing } from '@rast-backup/core/worker';

type Binding = typeof import('zstd-napi/binding.js');
export type CompressionContext = InstanceType<Binding['CCtx']>;

/**
 * ZSTD_c_blockSplitterLevel (experimental in zstd.h, so absent from zstd-napi's enum). zstd 1.5.7 added a
 * block pre-splitter, on by default from level 3. On the benchmark's mixed data it costs 20% more CPU for
 * 0.04% smaller output, and 8% more CPU for 0.7% smaller output on a tar of /usr: 1 turns it off, which
 * compresses as zstd ≤ 1.5.6 (and the `zstd` most distributions ship) does at the same level.
 */
const BLOCK_SPLITTER_LEVEL = 1017;
const NO_BLOCK_SPLITTING = 1;

let binding: Binding | undefined;

function loaded(): Binding {
  if (binding) return binding;
  try {
    binding = createRequire(import.meta.url)('zstd-napi/binding.js') as Binding;
  } catch (error) {
    throw libraryMissing('the zstd binding (zstd-napi)', error, 'reinstall rast-backup (it builds with node-gyp)');
  }
  return binding;
}

/** Whether experimental parameter 1017 is still the splitter (levels 0–6) in this libzstd: experimental numbers may move. */
function splitterKnown({ cParamGetBounds }: Binding): boolean {
  try {
    const bounds = cParamGetBounds(BLOCK_SPLITTER_LEVEL as never);
    return bounds.lowerBound === 0 && bounds.upperBound === 6;
  } catch {
    return false;
  }
}

/** ZSTD_COMPRESSBOUND: the largest frame libzstd makes from `size` bytes. */
export function compressBound(size: number): number {
  return size + Math.floor(size / 256) + (size < 128 * 1024 ? Math.floor((128 * 1024 - size) / 2048) : 0);
}

/** A libzstd compression context for self-contained frames (content size, no checksum) at `level`. */
export function compressionContext(level: number): CompressionContext {
  const { CCtx, CParameter } = loaded();
  const context = new CCtx();
  context.setParameter(CParameter.compressionLevel, level);
  context.setParameter(CParameter.contentSizeFlag, 1);
  context.setParameter(CParameter.checksumFlag, 0);
  if (splitterKnown(loaded())) context.setParameter(BLOCK_SPLITTER_LEVEL as never, NO_BLOCK_SPLITTING);
  return context;
}
