import type { EntryType } from '@rast-backup/core';

/** The lstat fields the directory source uses (a BigIntStats has them; so does what a reader thread sends). */
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

/** The fields of an lstat result as a plain object, which a thread can send. */
export const plainStats = (stats: EntryStats): EntryStats => ({
  dev: stats.dev,
  ino: stats.ino,
  mode: stats.mode,
  nlink: stats.nlink,
  uid: stats.uid,
  gid: stats.gid,
  rdev: stats.rdev,
  size: stats.size,
  blocks: stats.blocks,
  mtimeNs: stats.mtimeNs,
  ctimeNs: stats.ctimeNs,
});
