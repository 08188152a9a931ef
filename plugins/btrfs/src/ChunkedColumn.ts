type Typed = Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array;

const SHIFT = 16;
const CHUNK = 1 << SHIFT;
const MASK = CHUNK - 1;

/** Whether item `id` is the first of a chunk: the columns are extended for it. */
export const startsChunk = (id: number): boolean => (id & MASK) === 0;

/**
 * One number per item (an item's field, item ids counting up from 0), in typed arrays of a fixed size: it
 * grows a chunk at a time, so that it never holds twice what it needs nor copies itself, and the numbers
 * cost the garbage collector nothing. One subclass per element type, so that each one's reads stay
 * specialised to its array type.
 */
abstract class ChunkedColumn<T extends Typed> {
  protected readonly chunks: T[] = [];
  private capacity = 0;

  protected abstract make(): T;

  /** Makes room for item `id` (ids are given in order). */
  extend(id: number): void {
    while (id >= this.capacity) {
      this.chunks.push(this.make());
      this.capacity += CHUNK;
    }
  }

  /** Bytes held. */
  get bytes(): number {
    return this.chunks.length * this.make().byteLength;
  }
}

export class Uint8Column extends ChunkedColumn<Uint8Array> {
  protected make(): Uint8Array {
    return new Uint8Array(CHUNK);
  }
  get(id: number): number {
    return this.chunks[id >>> SHIFT]![id & MASK]!;
  }
  set(id: number, value: number): void {
    this.chunks[id >>> SHIFT]![id & MASK] = value;
  }
}

export class Uint16Column extends ChunkedColumn<Uint16Array> {
  protected make(): Uint16Array {
    return new Uint16Array(CHUNK);
  }
  get(id: number): number {
    return this.chunks[id >>> SHIFT]![id & MASK]!;
  }
  set(id: number, value: number): void {
    this.chunks[id >>> SHIFT]![id & MASK] = value;
  }
}

export class Uint32Column extends ChunkedColumn<Uint32Array> {
  protected make(): Uint32Array {
    return new Uint32Array(CHUNK);
  }
  get(id: number): number {
    return this.chunks[id >>> SHIFT]![id & MASK]!;
  }
  set(id: number, value: number): void {
    this.chunks[id >>> SHIFT]![id & MASK] = value;
  }
}

export class Int32Column extends ChunkedColumn<Int32Array> {
  protected make(): Int32Array {
    return new Int32Array(CHUNK);
  }
  get(id: number): number {
    return this.chunks[id >>> SHIFT]![id & MASK]!;
  }
  set(id: number, value: number): void {
    this.chunks[id >>> SHIFT]![id & MASK] = value;
  }
}

export class Float64Column extends ChunkedColumn<Float64Array> {
  protected make(): Float64Array {
    return new Float64Array(CHUNK);
  }
  get(id: number): number {
    return this.chunks[id >>> SHIFT]![id & MASK]!;
  }
  set(id: number, value: number): void {
    this.chunks[id >>> SHIFT]![id & MASK] = value;
  }
}
