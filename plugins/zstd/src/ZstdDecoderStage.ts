import { createRequire } from 'node:module';
import { libraryMissing, type DecoderStage } from '@rast-backup/core/worker';
import { inPlaceMargin } from './InPlaceMargin.js';

type Zstd = typeof import('zstd-napi');
type Binding = typeof import('zstd-napi/binding.js');

/**
 * The zstd decoder's worker-thread stage: one self-contained frame per part, decompressed by libzstd
 * (zstd-napi): straight into the core's reused `output` when it is given, else into new memory. A frame lying
 * at the end of `output` is decompressed in place when the room before it is libzstd's margin; else it is
 * copied out first.
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
  return (input, _prepared, _collect, output) => {
    if (!output) return decompressor.decompress(input);
    if (overlapping(input, output) && !inPlace(input, output, binding.getFrameContentSize(input))) input = Buffer.from(input);
    return output.subarray(0, context.decompress(output, input));
  };
}

function overlapping(input: Buffer, output: Buffer): boolean {
  return (
    input.buffer === output.buffer &&
    input.byteOffset < output.byteOffset + output.length &&
    output.byteOffset < input.byteOffset + input.length
  );
}

/** The in-place layout of zstd.h's ZSTD_decompressionMargin: the frame ends where `output` ends, after the decoded size and the margin. */
function inPlace(input: Buffer, output: Buffer, size: number | null): boolean {
  return (
    size !== null && input.byteOffset + input.length === output.byteOffset + output.length && output.length >= size + inPlaceMargin(size)
  );
}
