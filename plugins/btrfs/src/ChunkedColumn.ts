import { PageStore, type Page, type PageArray, type PageOwner } from './PageStore.js';

/**
 * One number per item (an item's field, item ids counting up from 0), in typed arrays of a fixed size (a
 * store's pages): it grows a page at a time, so that it never holds twice what it needs nor copies itself,
 * and the numbers cost the garbage collector nothing. The store keeps a budget of them in memory, the rest
 * in a file. One subclass per element type, so that each one's reads stay specialised to its array type.
 */
abstract class ChunkedColumn<T extends PageArray> implements PageOwner {
  /** The pages in memory; undefined where one has left it. */
  protected readonly chunks: Array<T | undefined> = [];
  protected readonly pages: Page[] = [];
  protected readonly shift: number;
  protected readonly mask: number;

  constructor(
    private readonly kind: new (length: number) => T,
    protected readonly store: PageStore = new PageStore(),
  ) {
    this.shift = store.shift;
    this.mask = store.pageItems - 1;
  }

  /** Makes room for item `id` (ids are given in order). */
  extend(id: number): void {
    while (id >= this.chunks.length * this.store.pageItems) {
      const [page, array] = this.store.admit(this, this.chunks.length, this.kind);
      this.pages.push(page);
      this.chunks.push(array);
    }
  }

  evicted(index: number): void {
    this.chunks[index] = undefined;
  }

  /** The page of item `id`, read back when it has left memory. */
  protected fault(id: number): T {
    const index = id >>> this.shift;
    return (this.chunks[index] = this.store.load(this.pages[index]!) as T);
  }

  /** Bytes held, in memory and in the file. */
  get bytes(): number {
    return this.chunks.length * this.store.pageItems * this.kind.prototype.BYTES_PER_ELEMENT;
  }
}

export class Uint8Column extends ChunkedColumn<Uint8Array> {
  constructor(store?: PageStore) {
    super(Uint8Array, store);
  }
  get pageItems(): number {
    return this.store.pageItems;
  }
  /** Items `start` to `start + length`: a view of their page, or a copy where they cross pages. */
  range(start: number, length: number): Uint8Array {
    if (length === 0) return new Uint8Array(0);
    const at = start & this.mask;
    if (at + length <= this.store.pageItems) {
      const page = this.chunks[start >>> this.shift] ?? this.fault(start);
      return page.subarray(at, at + length);
    }
    const copy = new Uint8Array(length);
    for (let index = 0; index < length; index++) copy[index] = this.get(start + index);
    return copy;
  }
  get(id: number): number {
    return (this.chunks[id >>> this.shift] ?? this.fault(id))[id & this.mask]!;
  }
  set(id: number, value: number): void {
    const index = id >>> this.shift;
    (this.chunks[index] ?? this.fault(id))[id & this.mask] = value;
    this.pages[index]!.dirty = true;
  }
}

export class Uint16Column extends ChunkedColumn<Uint16Array> {
  constructor(store?: PageStore) {
    super(Uint16Array, store);
  }
  get(id: number): number {
    return (this.chunks[id >>> this.shift] ?? this.fault(id))[id & this.mask]!;
  }
  set(id: number, value: number): void {
    const index = id >>> this.shift;
    (this.chunks[index] ?? this.fault(id))[id & this.mask] = value;
    this.pages[index]!.dirty = true;
  }
}

export class Uint32Column extends ChunkedColumn<Uint32Array> {
  constructor(store?: PageStore) {
    super(Uint32Array, store);
  }
  get(id: number): number {
    return (this.chunks[id >>> this.shift] ?? this.fault(id))[id & this.mask]!;
  }
  set(id: number, value: number): void {
    const index = id >>> this.shift;
    (this.chunks[index] ?? this.fault(id))[id & this.mask] = value;
    this.pages[index]!.dirty = true;
  }
}

export class Int32Column extends ChunkedColumn<Int32Array> {
  constructor(store?: PageStore) {
    super(Int32Array, store);
  }
  get(id: number): number {
    return (this.chunks[id >>> this.shift] ?? this.fault(id))[id & this.mask]!;
  }
  set(id: number, value: number): void {
    const index = id >>> this.shift;
    (this.chunks[index] ?? this.fault(id))[id & this.mask] = value;
    this.pages[index]!.dirty = true;
  }
}

export class Float64Column extends ChunkedColumn<Float64Array> {
  constructor(store?: PageStore) {
    super(Float64Array, store);
  }
  get(id: number): number {
    return (this.chunks[id >>> this.shift] ?? this.fault(id))[id & this.mask]!;
  }
  set(id: number, value: number): void {
    const index = id >>> this.shift;
    (this.chunks[index] ?? this.fault(id))[id & this.mask] = value;
    this.pages[index]!.dirty = true;
  }
}
