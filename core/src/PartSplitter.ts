/**
 * Cuts a byte stream into parts of exactly `partSize` bytes (the last one shorter). Holds at most one
 * part being filled; each part is filled into a buffer from `allocate` (at least `partSize` bytes, waited for
 * before the next part starts) and yielded as the caller's.
 */
export async function* cutIntoParts(
  stream: AsyncIterable<Buffer | Uint8Array>,
  partSize: number,
  allocate: () => Buffer | Promise<Buffer> = () => Buffer.allocUnsafe(partSize),
): AsyncGenerator<Buffer> {
  let part: Buffer | undefined;
  let filled = 0;
  for await (const chunk of stream) {
    let offset = 0;
    while (offset < chunk.length) {
      part ??= await allocate();
      const take = Math.min(partSize - filled, chunk.length - offset);
      part.set(chunk.subarray(offset, offset + take), filled);
      filled += take;
      offset += take;
      if (filled === partSize) {
        yield part.subarray(0, partSize);
        part = undefined;
        filled = 0;
      }
    }
  }
  if (part && filled > 0) yield part.subarray(0, filled);
}

/**
 * Parts of exactly `partSize` bytes (the last one shorter) filled straight into buffers from `allocate` by
 * `fill` (see Serialization.fill). A buffer that receives no byte at the end goes to `unused`.
 */
export async function* fillParts(
  fill: (target: Buffer) => Promise<number>,
  partSize: number,
  allocate: () => Buffer | Promise<Buffer>,
  unused: (buffer: Buffer) => void,
): AsyncGenerator<Buffer> {
  for (;;) {
    const part = await allocate();
    const length = await fill(part.subarray(0, partSize));
    if (length === 0) {
      unused(part);
      return;
    }
    yield part.subarray(0, length);
    if (length < partSize) return;
  }
}
