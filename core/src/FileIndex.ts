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
   * Clones in the span whose source the index could resolve: the command's offset, and the spans that
   * rebuild the source file as it was at that moment (in this stream, or in the parent backup).
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

export function encodeFileIndex(index: FileIndex): Buffer {
  const lines = [JSON.stringify({ format: index.format, version: index.version, backupId: index.backupId, entries: index.entries.length })];
  for (const entry of index.entries) lines.push(JSON.stringify(entry));
  return Buffer.from(lines.join('\n') + '\n');
}

export function decodeFileIndex(data: Buffer): FileIndex {
  const lines = data.toString('utf8').split('\n').filter((line) => line.length > 0);
  const header = JSON.parse(lines[0] ?? '{}');
  if (header.format !== 'rast-backup/index' || header.version !== 1) throw new Error('not a rast-backup file index');
  const entries = lines.slice(1).map((line) => JSON.parse(line) as IndexEntry);
  if (entries.length !== header.entries) throw new Error(`file index holds ${entries.length} entries, header says ${header.entries}`);
  return { format: 'rast-backup/index', version: 1, backupId: header.backupId, entries };
}
