/** A send command's attributes by type, as its readers use them: a Map of them offers the same. */
export type CommandAttributeMap = Pick<ReadonlyMap<number, Buffer>, 'get' | 'has'> & Iterable<[number, Buffer]>;

/**
 * The attributes of the command being decoded: where each lies in the decoder's buffer, its view made only when
 * asked for (a many-files stream has millions of commands, most of whose attributes nobody reads). One is reused
 * for every command of a decoder, so it is valid only while that command's callback runs.
 */
export class AttributeViews implements CommandAttributeMap {
  private buffer: Buffer = Buffer.alloc(0);
  private readonly starts: Int32Array;
  private readonly ends: Int32Array;
  /** The command each attribute was last seen in: an attribute is present when it is the current one. */
  private readonly seen: Uint32Array;
  private current = 0;

  constructor(maxType: number) {
    this.starts = new Int32Array(maxType + 1);
    this.ends = new Int32Array(maxType + 1);
    this.seen = new Uint32Array(maxType + 1);
  }

  /** Starts a command whose attributes lie in `buffer`. */
  reset(buffer: Buffer): void {
    this.buffer = buffer;
    if (++this.current === 0xffffffff) {
      this.seen.fill(0);
      this.current = 1;
    }
  }

  set(type: number, start: number, end: number): void {
    this.starts[type] = start;
    this.ends[type] = end;
    this.seen[type] = this.current;
  }

  has(type: number): boolean {
    return type >= 0 && type < this.seen.length && this.seen[type] === this.current;
  }

  get(type: number): Buffer | undefined {
    return this.has(type) ? this.buffer.subarray(this.starts[type], this.ends[type]) : undefined;
  }

  *[Symbol.iterator](): IterableIterator<[number, Buffer]> {
    for (let type = 0; type < this.seen.length; type++) if (this.has(type)) yield [type, this.get(type)!];
  }
}
