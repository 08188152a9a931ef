import type { WorkerStage } from './types.js';

/** A worker stage for PartEncoder.test: adds `add` to every byte and appends the per-part `tag`; fails on 13 bytes. */
export default function addStage(options: unknown): WorkerStage {
  const { add } = options as { add: number };
  return (input, output, prepared) => {
    if (input.length === 13) throw new Error('thirteen bytes');
    for (let index = 0; index < input.length; index++) output[index] = (input[index]! + add) & 0xff;
    output[input.length] = prepared as number;
    return input.length + 1;
  };
}

/** The same encoding on the main thread. */
export function addEncode(data: Buffer, add: number, tag: number): Buffer {
  if (data.length === 13) throw new Error('thirteen bytes');
  return Buffer.concat([Buffer.from(data.map((byte) => (byte + add) & 0xff)), Buffer.from([tag])]);
}
