import { byteTransform } from './ByteStages.fixture.js';
import { ErrorCode, RastError } from './errors.js';
import type { DecoderStage } from './types.js';

/**
 * The decoder stage of `options.op`: the same transform again (see byteTransform). Fails on 13 bytes with an
 * Error, on 14 with a RastError TOOL_MISSING.
 */
export default function byteDecoderStage(options: unknown): DecoderStage {
  const { op } = options as { op: 'xor' | 'reverse' };
  return (input) => {
    if (input.length === 13) throw new Error('thirteen bytes');
    if (input.length === 14) throw new RastError(ErrorCode.TOOL_MISSING, 'fourteen bytes');
    return byteTransform(op, input);
  };
}
