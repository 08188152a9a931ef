import { createRequire } from 'node:module';
import { libraryMissing, type DecoderStage } from '@rast-backup/core/worker';

type Zstd = typeof import('zstd-napi');
type Binding = typeof import('zstd-napi/binding.js');

/**
 * The zstd decoder's worker-thread stage: one self-contained frame per part, decompressed by libzstd
 * (zstd-napi): straight into the core's reused `output` when it is given, else into new memory.
 */
export default function zstdDecoderStage(): DecoderStage {
  let zstd: Zstd;
  let binding: Binding;
  try {
    const require = createRequire(import.meta.url);
    zstd = require('zstd-napi') as Zstd;
    binding = require('zstd-napi/binding.js') as Binding;
  } catch (error) {
    throw libraryMissing('the zstd binding (zstd-napi)', error, 'reinstall rast-backup (it builds with node-gyp)');
  }
  const decompressor = new zstd.Decompressor();
  const context = new binding.DCtx();
  return (input, _prepared, _collect, output) =>
    output ? output.subarray(0, context.decompress(output, input)) : decompressor.decompress(input);
}
