import type { EntryType } from '@rast-backup/core';
import { entryType, type EntryStats } from './EntryStats.js';
import { highHalf, lowHalf, type StatsField } from './StatsColumns.js';

const bytes = (text: string) => Buffer.from(text, 'latin1');
const TYPE_AFTER_PATH = bytes('","type":"');
const TYPES = new Map<EntryType, Buffer>(
  (['file', 'directory', 'symlink', 'fifo', 'char-device', 'block-device', 'socket'] as const).map((type) => [type, bytes(type)]),
);
const SIZE = bytes('","size":');
const MODE = bytes(',"mode":');
const UID = bytes(',"uid":');
const GID = bytes(',"gid":');
const MTIME = bytes(',"mtime":"');
const CTIME = bytes('","ctime":"');
const INODE = bytes('","inode":"');
const FROM = bytes('","from":"');
const ZERO = 0x30;
const NINE = 0x39;
const TWO_32 = 2 ** 32;

/** The place after `expected` if `line` holds it at `at`, else -1. */
function literal(line: Buffer, at: number, expected: Buffer): number {
  if (at < 0 || at + expected.length > line.length) return -1;
  for (let i = 0; i < expected.length; i++) if (line[at + i] !== expected[i]) return -1;
  return at + expected.length;
}

/**
 * The place after the decimal digits at `at` if they write the unsigned 64-bit number whose 32-bit halves are
 * `high` and `low` (as describe writes it: no sign, no leading zero), else -1. The digits are read into two 32-bit
 * halves as Numbers (each step below 2^36, exact): no string nor BigInt is made.
 */
function decimal(line: Buffer, at: number, high: number, low: number): number {
  if (at < 0 || at >= line.length || (line[at] === ZERO && line[at + 1]! >= ZERO && line[at + 1]! <= NINE)) return -1;
  let readHigh = 0;
  let readLow = 0;
  let end = at;
  for (; end < line.length && line[end]! >= ZERO && line[end]! <= NINE; end++) {
    readLow = readLow * 10 + (line[end]! - ZERO);
    const carry = Math.floor(readLow / TWO_32);
    readLow -= carry * TWO_32;
    readHigh = readHigh * 10 + carry;
    if (readHigh >= TWO_32) return -1;
  }
  return end > at && readHigh === high && readLow === low ? end : -1;
}

const field = (line: Buffer, at: number, stats: EntryStats, name: StatsField) =>
  decimal(line, at, highHalf(stats, name), lowHalf(stats, name));

/**
 * Whether a record's stored line (see IndexScan) holds exactly these lstat fields, as describe writes them
 * (`type`, `size`, `mode`, `uid`, `gid`, `mtime`, `ctime`, `inode` right after the path, then `from`): compared as
 * bytes, without parsing the record nor writing the fields as text. True means what unchangedStats would say of the
 * parsed record; false may be a change, or a record written in another order, or a time before 1970 (the caller
 * then parses it).
 */
export function statsOnLine(line: Buffer, stats: EntryStats): boolean {
  const type = entryType(stats);
  const typed = line.indexOf(TYPE_AFTER_PATH);
  let at = literal(line, typed < 0 ? -1 : typed + TYPE_AFTER_PATH.length, TYPES.get(type)!);
  const file = type === 'file';
  at = decimal(line, literal(line, at, SIZE), file ? highHalf(stats, 'size') : 0, file ? lowHalf(stats, 'size') : 0);
  at = decimal(line, literal(line, at, MODE), 0, lowHalf(stats, 'mode') & 0o7777);
  at = field(line, literal(line, at, UID), stats, 'uid');
  at = field(line, literal(line, at, GID), stats, 'gid');
  at = field(line, literal(line, at, MTIME), stats, 'mtimeNs');
  at = field(line, literal(line, at, CTIME), stats, 'ctimeNs');
  at = field(line, literal(line, at, INODE), stats, 'ino');
  return literal(line, at, FROM) >= 0;
}

/**
 * What serializeTree's `unchanged` concludes of a walked entry and the parent's record of its path, judged from the
 * record's stored line: not for a hard-linked file (its leader is found in order).
 */
export const unchangedOnLine = (walked: { stats: EntryStats }, line: Buffer): boolean =>
  (walked.stats.nlink === 1n || entryType(walked.stats) !== 'file') && statsOnLine(line, walked.stats);
