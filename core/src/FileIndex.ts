/**
 * The file index of a backup: every path of the backed-up tree as it stood at that backup, whichever
 * backup of the chain holds the path's data. Formats build it while their stream flows past; it is stored
 * beside the parts (through the same transforms) as JSON lines: one header line, then one entry per line.
 */
export type EntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'fifo' | 'char-device' | 'block-device' | 'socket';

export interface IndexEntry {
  /** Relative to the backup root, `/`-separated, no leading `/`; the root itself is `.`. */
  path: string;
  type: EntryType;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  /** Nanoseconds since the epoch, as a decimal string. */
  mtime: string;
  /** Status-change time (nanoseconds, decimal string), used to detect changes; never restored. */
  ctime?: string;
  /** Symlink target, verbatim. */
  target?: string;
  /** For `hardlink`: the path of the entry holding the data. */
  linkTo?: string;
  /** For devices. */
  devMajor?: number;
  devMinor?: number;
  /** Extended attributes, values base64. */
  xattrs?: Record<string, string>;
  /** Inode number, used to detect changes; not restored. */
  inode?: string;
  /** The id of the backup in the chain whose stream holds this entry. */
  from: string;
  /**
   * Formats whose streams can be read in pieces (btrfs-send): where this file's data lies, oldest first,
   * across the chain. Replaying these spans in order onto an empty file rebuilds its content; partial
   * restore fetches only the parts that hold them.
   */
  ranges?: StreamRange[];
}

/** A span of one backup's plaintext stream that holds data commands for one file, under the name it had there. */
export interface StreamRange {
  /** The backup whose stream holds the span. */
  from: string;
  /** Byte offsets in that backup's plaintext stream, end exclusive; they start and end on command boundaries. */
  start: number;
  end: number;
  /** The file's path in that stream at that moment (orphan names included), as the stream's commands name it. */
  path: string;
  /**
   * Clones in the span whose source the index could resolve: the command's offset, and the spans of the
   * source file (in this stream, or in the parent backup). The source as it was at the clone is those spans
   * with the ones of this span's backup cut at `at` (the btrfs plugin's CloneSource.ts); a file that clones from itself is its own
   * source. Stored, a source already given in the same entry is written as its number (see storedEntry).
   */
  clones?: Array<{ at: number; source: StreamRange[] }>;
  /** The span holds a clone whose source the index could not resolve: replaying the span cannot rebuild the data. */
  clone?: boolean;
}

export interface FileIndex {
  format: 'rast-backup/index';
  version: 1;
  backupId: string;
  entries: IndexEntry[];
}

/**
 * An entry as it is stored (and printed as JSON): clone sources may be shared, and a file that clones from
 * itself is its own source, so each list of spans is written once per entry: in order of first appearance
 * (0: the entry's own `ranges`), a list met again is written as its number. Its size follows the stream.
 */
export function storedEntry(entry: IndexEntry): IndexEntry {
  if (!entry.ranges?.some((range) => range.clones)) return entry;
  const numbers = new Map<StreamRange[], number>();
  const store = (ranges: StreamRange[]): StreamRange[] | number => {
    const known = numbers.get(ranges);
    if (known !== undefined) return known;
    numbers.set(ranges, numbers.size);
    return ranges.map((range) =>
      range.clones
        ? { ...range, clones: range.clones.map((clone) => ({ at: clone.at, source: store(clone.source) as StreamRange[] })) }
        : range,
    );
  };
  return { ...entry, ranges: store(entry.ranges) as StreamRange[] };
}

/** The inverse of storedEntry, in place: each source number becomes the list of spans it names. */
export function linkSources(entry: IndexEntry): void {
  if (!entry.ranges?.some((range) => range.clones)) return;
  const lists: StreamRange[][] = [];
  const link = (ranges: StreamRange[]) => {
    lists.push(ranges);
    for (const range of ranges) {
      for (const clone of range.clones ?? []) {
        const source = clone.source as StreamRange[] | number;
        if (typeof source !== 'number') link(source);
        else if (lists[source]) clone.source = lists[source];
        else throw new Error(`file index entry ${entry.path}: a clone names source ${source}, which the entry does not hold before it`);
      }
    }
  };
  link(entry.ranges);
}

export function encodeFileIndex(index: FileIndex): Buffer {
  const lines = [JSON.stringify({ format: index.format, version: index.version, backupId: index.backupId, entries: index.entries.length })];
  for (const entry of index.entries) lines.push(JSON.stringify(storedEntry(entry)));
  return Buffer.from(lines.join('\n') + '\n');
}

export function decodeFileIndex(data: Buffer): FileIndex {
  const lines = data
    .toString('utf8')
    .split('\n')
    .filter((line) => line.length > 0);
  const header = JSON.parse(lines[0] ?? '{}');
  if (header.format !== 'rast-backup/index' || header.version !== 1) throw new Error('not a rast-backup file index');
  const entries = lines.slice(1).map((line) => JSON.parse(line) as IndexEntry);
  for (const entry of entries) linkSources(entry);
  if (entries.length !== header.entries) throw new Error(`file index holds ${entries.length} entries, header says ${header.entries}`);
  return { format: 'rast-backup/index', version: 1, backupId: header.backupId, entries };
}
