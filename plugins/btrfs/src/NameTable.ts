import { Int32Column, Uint32Column, Uint8Column } from './ChunkedColumn.js';
import { PageStore } from './PageStore.js';

/** Set on a name's stored length when it is stored as UTF-16 (it has a character above U+00FF). */
const WIDE = 0x80000000;
const EMPTY = -1;
/** The hash table grows (doubles) past this share of its slots in use: 40–80 % full, 8 bytes a slot. */
const MOST_FULL = 0.8;
/** Slots the hash table may grow to (2^29: 429 million names); the memory is reserved, not taken, until used. */
const MOST_SLOTS = 2 ** 29;

/** An ArrayBuffer that grows in place (ES2024: Node 20 has it; the TypeScript lib this project builds with does not declare it). */
interface ResizableBuffer extends ArrayBuffer {
  resize(byteLength: number): void;
}
const resizable = (length: number, most: number): ResizableBuffer =>
  new (ArrayBuffer as unknown as new (length: number, options: { maxByteLength: number }) => ResizableBuffer)(length, {
    maxByteLength: most,
  });

/**
 * The names in a tree's directories, compactly: each name ("link": a directory, a name in it, the node there)
 * is a few numbers in typed arrays and its characters in a shared pool (one byte each, two for a name with a
 * character above U+00FF), found by an open-addressing hash table. A removed link's id is used again; a
 * removed name that is the last one in the pool gives its bytes back: a send stream names each new inode by a
 * temporary (orphan) name first and renames it next, so every other name is removed right after it is made.
 * The columns and the pool are pages of a PageStore (the ones not used lately may be in its file; so are the
 * bytes of other removed names); the hash table holds each slot's hash beside its link, so that a lookup reads
 * the columns and the pool of the links that match only.
 */
export class NameTable {
  /** A link's directory, or -1 while it is free. */
  private readonly directory: Int32Column;
  private readonly node: Int32Column;
  /** Where the name lies in the pool: its chunk times the chunk size, plus its start there (names up to 4 GiB). */
  private readonly offset: Uint32Column;
  private readonly length: Uint32Column;
  /** Links of one directory, both ways; free links, one way. */
  private readonly nextSibling: Int32Column;
  private readonly previousSibling: Int32Column;
  private readonly firstLink = new Map<number, number>();
  private free = -1;
  private count = 0;
  private live = 0;
  /** The names' characters, one after another; a name does not cross a page unless it is longer than one. */
  private readonly pool: Uint8Column;
  private poolUsed = 0;
  // The table's two arrays grow in place (resizable buffers): a doubling holds no second copy of the table.
  private readonly slotMemory = resizable(1024 * 4, MOST_SLOTS * 4);
  private readonly codeMemory = resizable(1024 * 4, MOST_SLOTS * 4);
  private slots = new Int32Array(this.slotMemory).fill(EMPTY);
  /** The hash of each slot's link. */
  private codes = new Int32Array(this.codeMemory);

  constructor(private readonly pages = new PageStore()) {
    this.directory = new Int32Column(pages);
    this.node = new Int32Column(pages);
    this.offset = new Uint32Column(pages);
    this.length = new Uint32Column(pages);
    this.nextSibling = new Int32Column(pages);
    this.previousSibling = new Int32Column(pages);
    this.pool = new Uint8Column(pages);
  }

  /** The link of `name` in `directory`, or -1. */
  find(directory: number, name: string): number {
    const mask = this.slots.length - 1;
    const code = hash(directory, name) | 0;
    for (let slot = code & mask; ; slot = (slot + 1) & mask) {
      const link = this.slots[slot]!;
      if (link === EMPTY) return -1;
      if (this.codes[slot] === code && this.directory.get(link) === directory && this.nameIs(link, name)) return link;
    }
  }

  /** A new link for `name` in `directory` (which must not have one), holding `node`. */
  add(directory: number, name: string, node: number): number {
    if (this.live + 1 > this.slots.length * MOST_FULL) this.rehash();
    let link = this.free;
    if (link >= 0) this.free = this.nextSibling.get(link);
    else {
      link = this.count++;
      if (this.pages.startsPage(link))
        for (const column of [this.directory, this.node, this.offset, this.length, this.nextSibling, this.previousSibling])
          column.extend(link);
    }
    this.live++;
    this.directory.set(link, directory);
    this.node.set(link, node);
    this.store(link, name);
    const next = this.firstLink.get(directory) ?? -1;
    this.nextSibling.set(link, next);
    this.previousSibling.set(link, -1);
    if (next >= 0) this.previousSibling.set(next, link);
    this.firstLink.set(directory, link);
    this.insert(link, hash(directory, name) | 0);
    return link;
  }

  /** Removes a link: its id may be given to another name from now on. */
  remove(link: number): void {
    const directory = this.directory.get(link);
    this.unslot(link);
    const [next, previous] = [this.nextSibling.get(link), this.previousSibling.get(link)];
    if (previous >= 0) this.nextSibling.set(previous, next);
    else if (next >= 0) this.firstLink.set(directory, next);
    else this.firstLink.delete(directory);
    if (next >= 0) this.previousSibling.set(next, previous);
    if (this.offset.get(link) + (this.length.get(link) & ~WIDE) === this.poolUsed) this.poolUsed = this.offset.get(link);
    this.directory.set(link, -1);
    this.nextSibling.set(link, this.free);
    this.free = link;
    this.live--;
  }

  nodeAt(link: number): number {
    return this.node.get(link);
  }

  directoryOf(link: number): number {
    return this.directory.get(link);
  }

  /** The links of a directory, in no order. */
  *links(directory: number): Generator<number> {
    for (let link = this.firstLink.get(directory) ?? -1; link >= 0; link = this.nextSibling.get(link)) yield link;
  }

  nameOf(link: number): string {
    const [bytes, length] = this.place(link);
    const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    return length & WIDE ? view.toString('utf16le') : view.toString('latin1');
  }

  /** Bytes held, in memory and in the file. */
  get bytes(): number {
    const columns = [this.directory, this.node, this.offset, this.length, this.nextSibling, this.previousSibling, this.pool];
    return columns.reduce((total, column) => total + column.bytes, 0) + this.slots.byteLength * 2;
  }

  /** A name's bytes (a view of its page, or a copy where it crosses pages) and its stored length. */
  private place(link: number): [Uint8Array, number] {
    const length = this.length.get(link);
    return [this.pool.range(this.offset.get(link), length & ~WIDE), length];
  }

  private store(link: number, name: string): void {
    let wide = false;
    for (let at = 0; at < name.length && !wide; at++) wide = name.charCodeAt(at) > 0xff;
    const bytes = wide ? name.length * 2 : name.length;
    const page = this.pool.pageItems;
    // A name that fits in a page starts on the next one rather than crossing.
    if (bytes <= page && (this.poolUsed % page) + bytes > page) this.poolUsed += page - (this.poolUsed % page);
    if (this.poolUsed + bytes > 0xffffffff) throw new Error('the names of the tree take more than 4 GiB');
    if (bytes > 0) this.pool.extend(this.poolUsed + bytes - 1);
    const at = this.poolUsed;
    if (wide)
      for (let index = 0; index < name.length; index++) {
        const code = name.charCodeAt(index);
        this.pool.set(at + index * 2, code & 0xff);
        this.pool.set(at + index * 2 + 1, code >>> 8);
      }
    else for (let index = 0; index < name.length; index++) this.pool.set(at + index, name.charCodeAt(index));
    this.offset.set(link, at);
    this.length.set(link, wide ? bytes | WIDE : bytes);
    this.poolUsed += bytes;
  }

  private nameIs(link: number, name: string): boolean {
    const [bytes, length] = this.place(link);
    if (length & WIDE) {
      if (bytes.length !== name.length * 2) return false;
      for (let index = 0; index < name.length; index++)
        if ((bytes[index * 2]! | (bytes[index * 2 + 1]! << 8)) !== name.charCodeAt(index)) return false;
      return true;
    }
    if (length !== name.length) return false;
    for (let index = 0; index < name.length; index++) if (bytes[index] !== name.charCodeAt(index)) return false;
    return true;
  }

  private insert(link: number, code: number): void {
    const mask = this.slots.length - 1;
    let slot = code & mask;
    while (this.slots[slot] !== EMPTY) slot = (slot + 1) & mask;
    this.slots[slot] = link;
    this.codes[slot] = code;
  }

  /** Takes a link out of the table, moving back the links after it that it kept from their first slot. */
  private unslot(link: number): void {
    const mask = this.slots.length - 1;
    let hole = this.storedHash(link) & mask;
    while (this.slots[hole] !== link) hole = (hole + 1) & mask;
    for (let slot = (hole + 1) & mask; this.slots[slot] !== EMPTY; slot = (slot + 1) & mask) {
      const home = this.codes[slot]! & mask;
      // Moved back unless its first slot lies after the hole, up to where it is (cyclically).
      if (hole <= slot ? home > hole && home <= slot : home > hole || home <= slot) continue;
      this.slots[hole] = this.slots[slot]!;
      this.codes[hole] = this.codes[slot]!;
      hole = slot;
    }
    this.slots[hole] = EMPTY;
  }

  /** A table twice as large, in the same memory grown: every live link is inserted again, its hash read from the columns. */
  private rehash(): void {
    const size = this.slots.length * 2;
    if (size > MOST_SLOTS) throw new Error(`the tree holds more than ${Math.floor(MOST_SLOTS * MOST_FULL)} names`);
    this.slotMemory.resize(size * 4);
    this.codeMemory.resize(size * 4);
    this.slots = new Int32Array(this.slotMemory, 0, size).fill(EMPTY);
    this.codes = new Int32Array(this.codeMemory, 0, size);
    for (let link = 0; link < this.count; link++) if (this.directory.get(link) >= 0) this.insert(link, this.storedHash(link) | 0);
  }

  /** hash() of a stored link, from its characters in the pool. */
  private storedHash(link: number): number {
    const [bytes, length] = this.place(link);
    let code = start(this.directory.get(link));
    if (length & WIDE) for (let index = 0; index < bytes.length; index += 2) code = step(code, bytes[index]! | (bytes[index + 1]! << 8));
    else for (let index = 0; index < length; index++) code = step(code, bytes[index]!);
    return code >>> 0;
  }
}

const start = (directory: number) => Math.imul(0x811c9dc5 ^ directory, 0x01000193);
const step = (code: number, character: number) => Math.imul(code ^ character, 0x01000193);

/** FNV-1a over the directory's id and the name's characters. */
function hash(directory: number, name: string): number {
  let code = start(directory);
  for (let at = 0; at < name.length; at++) code = step(code, name.charCodeAt(at));
  return code >>> 0;
}
