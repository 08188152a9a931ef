import { byteTransform } from './ByteStages.fixture.js';
import { ErrorCode, RastError } from './errors.js';
import type { DecoderStage } from './types.js';

/**
 * The decoder stage of `options.op`: the same transform again (see byteTransform). Fails on 13 bytes with an
 * Error, on 14 with a RastError TOOL_MISSING. With `prepared.busy` (an Int32Array on shared memory), counts
 * the parts it is decoding at once in busy[0] and the most at once in busy[1], taking 30 ms per part.
 */
export default function byteDecoderStage(options: unknown): DecoderStage {
  const { op } = options as { op: 'xor' | 'reverse' };
  return (input, prepared) => {
    const busy = (prepared as { busy?: Int32Array } | undefined)?.busy;
    if (busy) {
      const now = Atomics.add(busy, 0, 1) + 1;
      if (now > Atomics.load(busy, 1)) Atomics.store(busy, 1, now);
      Atomics.wait(busy, 2, 0, 30);
      Atomics.sub(busy, 0, 1);
    }
    if (input.length === 13) throw new Error('thirteen bytes');
    if (input.length === 14) throw new RastError(ErrorCode.TOOL_MISSING, 'fourteen bytes');
    return byteTransform(op, input);
  };
}
