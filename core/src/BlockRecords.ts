import { linkSources } from './FileIndex.js';
import { encodeLine, isTombstone, type IndexRecord } from './IndexRun.js';

/**
 * The records of one index block, in index order. A lookup reads a dozen paths of a block and one record,
 * so a stored block is not decoded whole: its paths are read from the start of their lines, and a record is
 * parsed when it is first read.
 */
export interface BlockRecords {
  readonly length: number;
  path(at: number): string;
  record(at: number): IndexRecord;
  /** Record `at` for a reader that passes it once (a scan): parsed again if asked for again, not kept with the block. */
  passing(at: number): IndexRecord;
  /**
   * Record `at` as stored (encodeLine's UTF-8, without the line break), for a reader that compares it without
   * parsing it: a view of the block's memory, read before the block is released (see stored for a copy).
   */
  line(at: number): Buffer;
  /** Whether record `at` is a tombstone: told from its line's end, parsed only when that may be one. */
  isTombstone(at: number): boolean;
  /**
   * Record `at` as stored (encodeLine's UTF-8, without the line break), to be written again without parsing it:
   * a copy, the caller's own, that outlives the block.
   */
  stored(at: number): Buffer;
  /** False when no record of the block holds `text` (printable ASCII, no `"` or `\\`) anywhere in its line; true may be wrong. */
  mayContain(text: Buffer): boolean;
}

/** Records already in memory (a version 1 index, records being written, tests). */
export class ArrayRecords implements BlockRecords {
  constructor(private readonly records: readonly IndexRecord[]) {}
  get length(): number {
    return this.records.length;
  }
  path(at: number): string {
    return this.records[at]!.path;
  }
  record(at: number): IndexRecord {
    return this.records[at]!;
  }
  passing(at: number): IndexRecord {
    return this.records[at]!;
  }
  line(at: number): Buffer {
    return Buffer.from(encodeLine(this.records[at]!));
  }
  isTombstone(at: number): boolean {
    return isTombstone(this.records[at]!);
  }
  stored(at: number): Buffer {
    return Buffer.from(encodeLine(this.records[at]!));
  }
  mayContain(): boolean {
    return true;
  }
}

const NEWLINE = 0x0a;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** The byte before a line's closing brace: a tombstone's line (`{"path":…,"deleted":true}`) ends `true}`, an entry's never does. */
const TRUE_END = 0x65;
/** Every record line starts so (encodeBlock writes `path` first). */
const PATH_PREFIX = Buffer.from('{"path":"');

/**
 * A block's plaintext: one JSON record per line. `damage` makes the error for a line that is not a record
 * (the caller names the backup and the block).
 */
export class EncodedRecords implements BlockRecords {
  private readonly starts: number[] = [];
  private readonly paths: Array<string | undefined>;
  private readonly records: Array<IndexRecord | undefined>;
  private held: Buffer | undefined;

  constructor(
    data: Buffer,
    private readonly damage: (message: string) => Error,
    /** Takes `data`'s memory back once the block is released (BlockMemory). */
    private readonly giveBack?: () => void,
  ) {
    this.held = data;
    for (let start = 0; start < data.length;) {
      const end = data.indexOf(NEWLINE, start);
      if (end < 0) throw damage('the last record does not end with a line break');
      if (end > start) this.starts.push(start);
      start = end + 1;
    }
    this.starts.push(data.length);
    this.paths = new Array(this.length);
    this.records = new Array(this.length);
  }

  get length(): number {
    return this.starts.length - 1;
  }

  /** Gives the block's memory back to be read into again: no record of it may be read after (that throws). */
  release(): void {
    if (!this.held) return;
    this.held = undefined;
    this.giveBack?.();
  }

  private get data(): Buffer {
    if (!this.held) throw new Error('an index block was read after its memory was given back');
    return this.held;
  }

  path(at: number): string {
    return (this.paths[at] ??= this.pathOnLine(at) ?? this.record(at).path);
  }

  record(at: number): IndexRecord {
    const record = this.records[at] ?? this.parse(at);
    this.paths[at] = record.path;
    return (this.records[at] = record);
  }

  passing(at: number): IndexRecord {
    return this.records[at] ?? this.parse(at);
  }

  line(at: number): Buffer {
    return this.data.subarray(this.starts[at], this.starts[at + 1]! - 1);
  }

  isTombstone(at: number): boolean {
    return this.data[this.starts[at + 1]! - 3] === TRUE_END && isTombstone(this.passing(at));
  }

  stored(at: number): Buffer {
    // A line that does not start with its path (written before encodeLine put it first) is written as encodeLine would.
    if (!this.startsWithPath(at)) return Buffer.from(encodeLine(this.record(at)));
    return Buffer.from(this.data.subarray(this.starts[at]!, this.starts[at + 1]! - 1));
  }

  private parse(at: number): IndexRecord {
    let record: IndexRecord;
    const line = this.data.toString('utf8', this.starts[at], this.starts[at + 1]! - 1);
    try {
      record = JSON.parse(line) as IndexRecord;
    } catch (error) {
      throw this.damage(`record ${at + 1}: ${(error as Error).message}`);
    }
    if (typeof record?.path !== 'string') throw this.damage(`record ${at + 1} has no path`);
    const onLine = this.paths[at] ?? this.pathOnLine(at);
    if (onLine !== undefined && onLine !== record.path) throw this.damage(`record ${at + 1}: its path is written twice`);
    if (!isTombstone(record)) {
      try {
        linkSources(record);
      } catch (error) {
        throw this.damage((error as Error).message);
      }
    }
    return record;
  }

  mayContain(text: Buffer): boolean {
    return this.data.includes(text);
  }

  private startsWithPath(at: number): boolean {
    const start = this.starts[at]!;
    return this.data.compare(PATH_PREFIX, 0, PATH_PREFIX.length, start, start + PATH_PREFIX.length) === 0;
  }

  /** The path at the start of the line, without parsing the rest of it; undefined when the line does not start with it. */
  private pathOnLine(at: number): string | undefined {
    const data = this.data;
    const start = this.starts[at]!;
    const end = this.starts[at + 1]! - 1;
    if (!this.startsWithPath(at)) return undefined;
    let escaped = false;
    for (let i = start + PATH_PREFIX.length; i < end; i++) {
      const byte = data[i];
      if (byte === BACKSLASH) {
        escaped = true;
        i++;
      } else if (byte === QUOTE) {
        if (!escaped) return data.toString('utf8', start + PATH_PREFIX.length, i);
        return JSON.parse(data.toString('utf8', start + PATH_PREFIX.length - 1, i + 1)) as string;
      }
    }
    return undefined;
  }
}
