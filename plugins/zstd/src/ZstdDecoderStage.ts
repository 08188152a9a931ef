import { createRequire } from 'node:module';
import { libraryMissing, type DecoderStage } from '@rast-backup/core/worker';

type Zstd = typeof import('zstd-napi');

/** The zstd decoder's worker-thread stage: one self-contained frame per part, decompressed by libzstd (zstd-napi). */
export default function zstdDecoderStage(): DecoderStage {
  let zstd: Zstd;
  try {
    zstd = createRequire(import.meta.url)('zstd-napi') as Zstd;
  } catch (error) {
    throw libraryMissing('the zstd binding (zstd-napi)', error, 'reinstall rast-backup (it builds with node-gyp)');
  }
  const decompressor = new zstd.Decompressor();
  return (input) => decompressor.decompress(input);
}
