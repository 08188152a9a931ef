import { entryType, type EntryStats } from './EntryStats.js';

/**
 * Whether a record's stored line (see IndexScan) holds exactly these lstat fields, as describe writes them
 * (`type`, `size`, `mode`, `uid`, `gid`, `mtime`, `ctime`, `inode` right after the path, then `from`): compared as
 * bytes, without parsing the record. True means what unchangedStats would say of the parsed record; false may be
 * a change, or a record written in another order (the caller then parses it).
 */
export function statsOnLine(line: string, stats: EntryStats): boolean {
  const type = entryType(stats);
  const size = type === 'file' ? stats.size : 0;
  const key = `","type":"${type}","size":${size},"mode":${stats.mode & 0o7777n},"uid":${stats.uid},"gid":${stats.gid},"mtime":"${stats.mtimeNs}","ctime":"${stats.ctimeNs}","inode":"${stats.ino}","from":"`;
  const at = line.indexOf(TYPE_AFTER_PATH);
  return at >= 0 && line.startsWith(key, at);
}

/**
 * What serializeTree's `unchanged` concludes of a walked entry and the parent's record of its path, judged from the
 * record's stored line: not for a hard-linked file (its leader is found in order).
 */
export const unchangedOnLine = (walked: { stats: EntryStats }, line: string): boolean =>
  (walked.stats.nlink === 1n || entryType(walked.stats) !== 'file') && statsOnLine(line, walked.stats);

const TYPE_AFTER_PATH = '","type":"';
