import type { IndexEntry } from '@rast-backup/core';
import { entryType, type EntryStats } from './EntryStats.js';

/** Linux's encoding of device numbers (glibc major()/minor()). */
export function deviceNumbers(rdev: bigint): { devMajor: number; devMinor: number } {
  const devMajor = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
  const devMinor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
  return { devMajor, devMinor };
}

/** An index entry's fields taken from an lstat, in the order describe writes them (StoredStats reads them so). */
export function statsFields(stats: EntryStats): Pick<IndexEntry, 'type' | 'size' | 'mode' | 'uid' | 'gid' | 'mtime' | 'ctime' | 'inode'> {
  const type = entryType(stats);
  return {
    type,
    size: type === 'file' ? Number(stats.size) : 0,
    mode: Number(stats.mode & 0o7777n),
    uid: Number(stats.uid),
    gid: Number(stats.gid),
    mtime: String(stats.mtimeNs),
    ctime: String(stats.ctimeNs),
    // The inode number alone: a btrfs snapshot of the same tree has another st_dev but the same inodes.
    inode: String(stats.ino),
  };
}

/** Metadata that, when it differs from the parent's, means the entry changed since the parent. */
export function sameEntry(previous: IndexEntry, current: Omit<IndexEntry, 'from'>): boolean {
  return (
    previous.type === current.type &&
    previous.size === current.size &&
    previous.mode === current.mode &&
    previous.uid === current.uid &&
    previous.gid === current.gid &&
    previous.mtime === current.mtime &&
    previous.ctime === current.ctime &&
    previous.inode === current.inode &&
    previous.target === current.target &&
    previous.linkTo === current.linkTo &&
    JSON.stringify(previous.xattrs ?? {}) === JSON.stringify(current.xattrs ?? {})
  );
}

/** Nanoseconds as `seconds.nanoseconds` for a pax `mtime` record. */
export function paxTime(nanoseconds: string): string {
  const value = BigInt(nanoseconds);
  const seconds = value / 1_000_000_000n;
  const rest = value % 1_000_000_000n;
  return `${seconds}.${String(rest).padStart(9, '0')}`;
}

/** A pax `mtime` record back to nanoseconds. */
export function fromPaxTime(text: string): string {
  const [seconds = '0', fraction = ''] = text.split('.');
  return String(BigInt(seconds) * 1_000_000_000n + BigInt((fraction + '000000000').slice(0, 9)));
}

/**
 * Whether an entry's lstat shows it unchanged since the parent's entry: same type, size, mtime, ctime, inode,
 * mode and owner. Its target and xattrs are then the parent's: changing either changes the ctime.
 */
export function unchangedStats(previous: IndexEntry, stats: EntryStats): boolean {
  const type = entryType(stats);
  return (
    (previous.type === type || (previous.type === 'hardlink' && type === 'file')) &&
    (previous.type !== 'file' || previous.size === Number(stats.size)) &&
    previous.mtime === String(stats.mtimeNs) &&
    previous.ctime === String(stats.ctimeNs) &&
    previous.inode === String(stats.ino) &&
    previous.mode === Number(stats.mode & 0o7777n) &&
    previous.uid === Number(stats.uid) &&
    previous.gid === Number(stats.gid)
  );
}
