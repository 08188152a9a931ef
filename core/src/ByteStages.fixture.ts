import type { WorkerStage } from './types.js';

/** Two byte transforms for the pipeline tests, each its own inverse: `xor` 0x55 every byte, `reverse` their order. */
export function byteTransform(op: 'xor' | 'reverse', data: Uint8Array): Buffer {
  return op === 'xor' ? Buffer.from(data.map((byte) => byte ^ 0x55)) : Buffer.from(data).reverse();
}

/** The worker stage of `options.op` (see byteTransform). */
export default function byteStage(options: unknown): WorkerStage {
  const { op } = options as { op: 'xor' | 'reverse' };
  return (input, output) => byteTransform(op, input).copy(output);
}
