import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readlinkSync, openSync, readSync, closeSync } from 'node:fs';
import { getAttributeSync, listAttributesSync } from '@napi-rs/xattr';

export interface FingerprintOptions {
  /** For files over 1 MiB whose path matches, also say whether less than half of them is allocated (holes kept). */
  sparse?: RegExp;
  /** Top-level names to leave out. */
  ignore?: string[];
}

function contentHash(path: Buffer): string {
  const hash = createHash('sha256');
  const fd = openSync(path, 'r');
  const buffer = Buffer.alloc(1024 * 1024);
  try {
    for (let got; (got = readSync(fd, buffer, 0, buffer.length, null)) > 0;) hash.update(buffer.subarray(0, got));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex').slice(0, 16);
}

/**
 * Every entry of a tree as one line of facts: type and mode, owner, size, content hash, symlink target,
 * device number, hard-link group, xattrs (for UTF-8 paths), mtime to the microsecond. Two trees are the
 * same restore when their fingerprints are equal.
 */
export function fingerprint(root: string, options: FingerprintOptions = {}): Record<string, string> {
  const result: Record<string, string> = {};
  const groups = new Map<bigint, string>();
  const visit = (relative: Buffer) => {
    const absolute = relative.length ? Buffer.concat([Buffer.from(`${root}/`), relative]) : Buffer.from(root);
    const stats = lstatSync(absolute, { bigint: true });
    const key = relative.length ? relative.toString('latin1') : '.';
    const facts = [`mode=${stats.mode.toString(8)}`, `owner=${stats.uid}:${stats.gid}`, `mtime_us=${stats.mtimeNs / 1000n}`];
    if (stats.isFile()) {
      facts.push(`size=${stats.size}`, `sha=${contentHash(absolute)}`);
      if (options.sparse?.test(key) && stats.size > 1_000_000n) facts.push(`sparse=${stats.blocks * 512n < stats.size / 2n}`);
      if (stats.nlink > 1n) {
        if (!groups.has(stats.ino)) groups.set(stats.ino, key);
        facts.push(`nlink=${stats.nlink} group=${JSON.stringify(groups.get(stats.ino))}`);
      }
    }
    if (stats.isCharacterDevice() || stats.isBlockDevice()) facts.push(`rdev=${stats.rdev}`);
    if (stats.isSymbolicLink()) facts.push(`target=${readlinkSync(absolute, { encoding: 'buffer' }).toString('latin1')}`);
    const text = absolute.toString('utf8');
    if (Buffer.from(text).equals(absolute)) {
      for (const name of listAttributesSync(text).sort()) facts.push(`${name}=${getAttributeSync(text, name)?.toString('hex')}`);
    }
    result[key] = facts.join(' ');
    if (stats.isDirectory()) {
      for (const name of readdirSync(absolute, { encoding: 'buffer' }).sort(Buffer.compare)) {
        if (!relative.length && options.ignore?.includes(name.toString())) continue;
        visit(relative.length ? Buffer.concat([relative, Buffer.from('/'), name]) : name);
      }
    }
  };
  visit(Buffer.alloc(0));
  return result;
}

/** The first differences between two fingerprints, for an assertion message. */
export function differences(expected: Record<string, string>, actual: Record<string, string>, limit = 10): string[] {
  const lines: string[] = [];
  for (const key of new Set([...Object.keys(expected), ...Object.keys(actual)])) {
    if (expected[key] === actual[key]) continue;
    lines.push(`${JSON.stringify(key)}:\n  expected ${expected[key] ?? '(absent)'}\n  actual   ${actual[key] ?? '(absent)'}`);
    if (lines.length >= limit) break;
  }
  return lines;
}
