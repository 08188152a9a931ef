import { Int32Column, startsChunk, Uint32Column } from './ChunkedColumn.js';

const POOL_CHUNK = 1 << 20;
/** Set on a name's stored length when it is stored as UTF-16 (it has a character above U+00FF). */
const WIDE = 0x80000000;

/**
 * The names of a tree's directories, compactly: each name ("link": a directory, a name in it, and the node
 * there, or none once the name is gone) is a few numbers in typed arrays and its characters in a shared pool
 * (one byte each, two for a name with a character above U+00FF), found by an open-addressing hash table. A
 * link is never removed, only emptied (a name used again takes it again), so link ids stay valid.
 */
export class NameTable {
  private readonly directory = new Int32Column();
  private readonly node = new Int32Column();
  /** Where the name lies in the pool: its chunk times the chunk size, plus its start there (names up to 4 GiB). */
  private readonly offset = new Uint32Column();
  private readonly length = new Uint32Column();
  private readonly nextSibling = new Int32Column();
  /** A directory's most recent link; the others follow through nextSibling. */
  private readonly firstLink = new Map<number, number>();
  private readonly pool: Buffer[] = [];
  private poolUsed = POOL_CHUNK;
  private slots = new Int32Array(1024).fill(-1);
  private count = 0;

  /** The link of `name` in `directory`, or -1. */
  find(directory: number, name: string): number {
    const mask = this.slots.length - 1;
    for (let slot = hash(directory, name) & mask; ; slot = (slot + 1) & mask) {
      const link = this.slots[slot]!;
      if (link < 0) return -1;
      if (this.directory.get(link) === directory && this.nameIs(link, name)) return link;
    }
  }

  /** A new link for `name` in `directory` (which must not have one), holding no node. */
  add(directory: number, name: string): number {
    const link = this.count++;
    if (startsChunk(link))
      for (const column of [this.directory, this.node, this.offset, this.length, this.nextSibling]) column.extend(link);
    this.directory.set(link, directory);
    this.node.set(link, -1);
    this.store(link, name);
    this.nextSibling.set(link, this.firstLink.get(directory) ?? -1);
    this.firstLink.set(directory, link);
    if (this.count * 2 > this.slots.length) this.rehash();
    else this.insert(link, hash(directory, name));
    return link;
  }

  nodeAt(link: number): number {
    return this.node.get(link);
  }

  setNode(link: number, node: number): void {
    this.node.set(link, node);
  }

  directoryOf(link: number): number {
    return this.directory.get(link);
  }

  /** The links of a directory, full or empty, in no order. */
  *links(directory: number): Generator<number> {
    for (let link = this.firstLink.get(directory) ?? -1; link >= 0; link = this.nextSibling.get(link)) yield link;
  }

  nameOf(link: number): string {
    const [chunk, at, length] = this.place(link);
    return length & WIDE ? chunk.toString('utf16le', at, at + (length & ~WIDE)) : chunk.toString('latin1', at, at + length);
  }

  /** Bytes held. */
  get bytes(): number {
    const columns = [this.directory, this.node, this.offset, this.length, this.nextSibling];
    return columns.reduce((total, column) => total + column.bytes, 0) + this.pool.length * POOL_CHUNK + this.slots.byteLength;
  }

  private place(link: number): [Buffer, number, number] {
    const offset = this.offset.get(link);
    return [this.pool[offset >>> 20]!, offset & (POOL_CHUNK - 1), this.length.get(link)];
  }

  private store(link: number, name: string): void {
    let wide = false;
    for (let at = 0; at < name.length && !wide; at++) wide = name.charCodeAt(at) > 0xff;
    const bytes = wide ? name.length * 2 : name.length;
    if (this.poolUsed + bytes > POOL_CHUNK) {
      if (this.pool.length === 4096) throw new Error('the names of the tree take more than 4 GiB');
      this.pool.push(Buffer.allocUnsafe(POOL_CHUNK));
      this.poolUsed = 0;
    }
    const chunk = this.pool.length - 1;
    this.pool[chunk]!.write(name, this.poolUsed, wide ? 'utf16le' : 'latin1');
    this.offset.set(link, chunk * POOL_CHUNK + this.poolUsed);
    this.length.set(link, wide ? bytes | WIDE : bytes);
    this.poolUsed += bytes;
  }

  private nameIs(link: number, name: string): boolean {
    const [chunk, at, length] = this.place(link);
    if (length & WIDE) {
      if ((length & ~WIDE) !== name.length * 2) return false;
      for (let index = 0; index < name.length; index++) if (chunk.readUInt16LE(at + index * 2) !== name.charCodeAt(index)) return false;
      return true;
    }
    if (length !== name.length) return false;
    for (let index = 0; index < name.length; index++) if (chunk[at + index] !== name.charCodeAt(index)) return false;
    return true;
  }

  private insert(link: number, code: number): void {
    const mask = this.slots.length - 1;
    let slot = code & mask;
    while (this.slots[slot]! >= 0) slot = (slot + 1) & mask;
    this.slots[slot] = link;
  }

  private rehash(): void {
    this.slots = new Int32Array(this.slots.length * 2).fill(-1);
    for (let link = 0; link < this.count; link++) this.insert(link, hash(this.directory.get(link), this.nameOf(link)));
  }
}

/** FNV-1a over the directory's id and the name's characters. */
function hash(directory: number, name: string): number {
  let code = Math.imul(0x811c9dc5 ^ directory, 0x01000193);
  for (let at = 0; at < name.length; at++) code = Math.imul(code ^ name.charCodeAt(at), 0x01000193);
  return code >>> 0;
}
