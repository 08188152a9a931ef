import type { EntryType } from '@rast-backup/core';

/** The lstat fields the directory source uses (a BigIntStats has them; so does a ColumnStats, see StatsColumns). */
export interface EntryStats {
  dev: bigint;
  ino: bigint;
  mode: bigint;
  nlink: bigint;
  uid: bigint;
  gid: bigint;
  rdev: bigint;
  size: bigint;
  blocks: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

const TYPES = new Map<bigint, EntryType>([
  [0o100000n, 'file'],
  [0o040000n, 'directory'],
  [0o120000n, 'symlink'],
  [0o010000n, 'fifo'],
  [0o020000n, 'char-device'],
  [0o060000n, 'block-device'],
  [0o140000n, 'socket'],
]);

/** The entry type of an lstat result (its S_IFMT bits). */
export const entryType = (stats: EntryStats): EntryType => TYPES.get(stats.mode & 0o170000n) ?? 'socket';
