import { ArrayRecords, EncodedRecords, type BlockRecords } from './BlockRecords.js';
import { storedEntry, type IndexEntry } from './FileIndex.js';
import { BlockNames, type StoredNames } from './BlockNames.js';
import type { PartRecord } from './Manifest.js';

/** A path that a run removes from the layers below it. */
export interface IndexTombstone {
  path: string;
  deleted: true;
}

/** What a run holds for one path: its entry as of the run's backup, or its removal. */
export type IndexRecord = IndexEntry | IndexTombstone;

export const isTombstone = (record: IndexRecord): record is IndexTombstone => (record as IndexTombstone).deleted === true;

/** One block of a run as the run's header lists it: a stored object like a part, and the first path it holds. */
export interface IndexBlock extends PartRecord {
  first: string;
  records: number;
  /** The last segments of its records' paths, as a filter (absent from runs written before it). */
  names?: StoredNames;
}

/**
 * The stored header of a version 2 file index (the object at `data/<id>/index`). The backup's index is its
 * run over the index of backup `over` (an ancestor in its chain), or its run alone when `over` is null.
 * See docs/repository-format.md.
 */
export interface IndexRunHeader {
  format: 'rast-backup/index';
  version: 2;
  backupId: string;
  over: string | null;
  /** Entries in the backup's whole index (all layers merged). */
  entries: number;
  /** How many runs the index is made of, this one included. */
  layers: number;
  blocks: IndexBlock[];
}

/** A sorted run of records (index order, one per path), read block by block. */
export interface IndexRun {
  readonly backupId: string;
  /** The first path of each block, in order. */
  readonly firsts: readonly string[];
  /** How many records the run holds (entries and tombstones). */
  readonly records: number;
  readBlock(block: number): Promise<BlockRecords>;
  /** A block readBlock gave that its reader will not read again: its memory is used for the next block read. */
  releaseBlock?(records: BlockRecords): void;
  /** False when the block surely holds no record whose path's last segment is `name`; absent when the run has no filters. */
  mayHold?(block: number, name: string): boolean;
}

/** Reads the blocks' name filters of a run header as they are asked for; `damage` makes the error for one that is not a filter. */
export function blockNames(blocks: readonly IndexBlock[], damage: (message: string) => Error): IndexRun['mayHold'] {
  if (!blocks.every((block) => block.names !== undefined)) return undefined;
  const decoded: Array<BlockNames | undefined> = [];
  return (block, name) => {
    try {
      decoded[block] ??= new BlockNames(blocks[block]!.names!);
    } catch (error) {
      throw damage(`file index block ${block + 1} of ${blocks.length}: ${(error as Error).message}`);
    }
    return decoded[block]!.mayHold(name);
  };
}

/** A run whose records are all in memory: a version 1 index, or records being written. */
export class MemoryRun implements IndexRun {
  readonly firsts: string[];
  readonly records: number;
  constructor(
    readonly backupId: string,
    private readonly held: readonly IndexRecord[],
  ) {
    this.firsts = held.length > 0 ? [held[0]!.path] : [];
    this.records = held.length;
  }
  async readBlock(): Promise<BlockRecords> {
    return new ArrayRecords(this.held);
  }
}

/**
 * A record's line in a block (without its line break), as JSON, `path` first (clone sources numbered, see
 * storedEntry); a tombstone is always `{"path":…,"deleted":true}`, which a merge tells by its end.
 */
export function encodeLine(record: IndexRecord): string {
  if (isTombstone(record)) return JSON.stringify({ path: record.path, deleted: true });
  const stored = storedEntry(record);
  if (firstKey(stored) === 'path') return JSON.stringify(stored);
  const { path, ...rest } = stored;
  return JSON.stringify({ path, ...rest });
}

function firstKey(record: object): string | undefined {
  for (const key in record) return key;
  return undefined;
}

const PATH_START = '{"path":"';

/** The path of a line from encodeLine, read from its start without parsing the rest of it. */
export function pathOfLine(line: string): string {
  if (line.startsWith(PATH_START)) {
    let escaped = false;
    for (let at = PATH_START.length; at < line.length; at++) {
      const char = line.charCodeAt(at);
      if (char === 0x5c) {
        escaped = true;
        at++;
      } else if (char === 0x22) {
        const text = line.slice(PATH_START.length - 1, at + 1);
        return escaped ? (JSON.parse(text) as string) : text.slice(1, -1);
      }
    }
  }
  throw new Error(`an index line does not start with its path: ${line.slice(0, 60)}`);
}

export function encodeBlock(records: readonly IndexRecord[]): Buffer {
  return encodeLines(records.map(encodeLine));
}

/** Where encodeLines writes a block before copying it out; it grows to the largest block and is kept. */
let scratch = Buffer.allocUnsafeSlow(1024 * 1024);

/**
 * A block of lines from encodeLine, each as text or as its UTF-8 bytes (a stored block's, copied as they are), each
 * followed by a line break, written line by line into scratch memory (joining a block's lines and encoding the
 * joined string cost about 2 CPU-seconds per million records on the main thread; this, a tenth of it).
 */
export function encodeLines(lines: ReadonlyArray<string | Buffer>): Buffer {
  if (lines.length === 0) return Buffer.from('\n');
  let length = 0;
  for (const line of lines) {
    // A UTF-16 code unit takes at most 3 bytes of UTF-8.
    const most = (typeof line === 'string' ? line.length * 3 : line.length) + 1;
    if (scratch.length - length < most) {
      const larger = Buffer.allocUnsafeSlow(Math.max(scratch.length * 2, length + most));
      scratch.copy(larger, 0, 0, length);
      scratch = larger;
    }
    if (typeof line === 'string') length += scratch.write(line, length, 'utf8');
    else length += line.copy(scratch, length);
    scratch[length++] = 0x0a;
  }
  return Buffer.from(scratch.subarray(0, length));
}

/** A block's records, decoded as they are read; `damage` makes the error for a record that is not one. */
export function decodeBlock(
  data: Buffer,
  damage: (message: string) => Error = (message) => new Error(message),
  giveBack?: () => void,
): BlockRecords {
  return new EncodedRecords(data, damage, giveBack);
}

/** releaseBlock of a run whose blocks decodeBlock made with memory to give back. */
export function releaseEncoded(records: BlockRecords): void {
  if (records instanceof EncodedRecords) records.release();
}

export function encodeRunHeader(header: IndexRunHeader): Buffer {
  return Buffer.from(JSON.stringify(header) + '\n');
}

/** The version of a decoded index object: 1 (JSON lines, whole) or 2 (a run header). */
export function indexVersion(data: Buffer): number {
  const end = data.indexOf(0x0a);
  const header = JSON.parse(data.subarray(0, end < 0 ? data.length : end).toString('utf8'));
  if (header?.format !== 'rast-backup/index' || (header.version !== 1 && header.version !== 2))
    throw new Error('not a rast-backup file index');
  return header.version;
}

export function decodeRunHeader(data: Buffer): IndexRunHeader {
  const header = JSON.parse(data.toString('utf8')) as IndexRunHeader;
  if (header?.format !== 'rast-backup/index' || header.version !== 2 || !Array.isArray(header.blocks))
    throw new Error('not a version 2 rast-backup file index');
  return header;
}
