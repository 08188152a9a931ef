type Typed = Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array;

const SHIFT = 16;
const CHUNK = 1 << SHIFT;
const MASK = CHUNK - 1;

/**
 * One number per item (an item's field, item ids counting up from 0), in typed arrays of a fixed size: it
 * grows a chunk at a time, so that it never holds twice what it needs nor copies itself, and the numbers
 * cost the garbage collector nothing.
 */
export class ChunkedColumn {
  private readonly chunks: Typed[] = [];

  constructor(private readonly make: (length: number) => Typed) {}

  /** Makes room for item `id` (ids are given in order). */
  extend(id: number): void {
    while (id >= this.chunks.length * CHUNK) this.chunks.push(this.make(CHUNK));
  }

  get(id: number): number {
    return this.chunks[id >>> SHIFT]![id & MASK]!;
  }

  set(id: number, value: number): void {
    this.chunks[id >>> SHIFT]![id & MASK] = value;
  }

  /** Bytes held. */
  get bytes(): number {
    return this.chunks.reduce((total, chunk) => total + chunk.byteLength, 0);
  }
}
