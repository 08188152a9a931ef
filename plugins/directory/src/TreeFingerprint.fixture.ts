import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { getAttribute, listAttributes } from '@napi-rs/xattr';
import { indexPath } from '@rast-backup/core';
import { NoTextPath, withTextPath } from '@rast-backup/restore-kit';

/**
 * Everything restore must keep, per path (an index path: names are read as bytes, those that are not UTF-8
 * escaped): type, mode, owner, size, content hash, µs mtime, target, xattrs, hard-link group.
 */
export async function fingerprint(root: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  const groups = new Map<bigint, string>();
  const visit = async (relative: Buffer) => {
    const absolute = relative.length ? Buffer.concat([Buffer.from(`${root}/`), relative]) : Buffer.from(root);
    const key = relative.length ? indexPath(relative) : '.';
    const stats = await lstat(absolute, { bigint: true });
    const facts = [`mode=${(stats.mode & 0o177777n).toString(8)}`, `owner=${stats.uid}:${stats.gid}`, `mtime_us=${stats.mtimeNs / 1000n}`];
    if (stats.isFile()) {
      facts.push(
        `size=${stats.size}`,
        `sha=${createHash('sha256')
          .update(await readFile(absolute))
          .digest('hex')
          .slice(0, 16)}`,
      );
      if (stats.nlink > 1n) {
        if (!groups.has(stats.ino)) groups.set(stats.ino, key);
        facts.push(`linkgroup=${groups.get(stats.ino)}`);
      }
    }
    if (stats.isSymbolicLink()) facts.push(`target=${indexPath(await readlink(absolute, { encoding: 'buffer' }))}`);
    if (stats.isCharacterDevice() || stats.isBlockDevice()) facts.push(`rdev=${stats.rdev}`);
    if (!stats.isSymbolicLink()) {
      // Not for files whose own name is not UTF-8 (the xattr library cannot reach them without a temporary link),
      // nor on a filesystem without xattrs (the library reports errno 95, EOPNOTSUPP); any other error fails.
      await withTextPath(absolute, async (text) => {
        for (const name of (await listAttributes(text)).sort())
          facts.push(`xattr:${name}=${(await getAttribute(text, name))?.toString('base64')}`);
      }).catch((error: Error) => {
        if (!(error instanceof NoTextPath) && !/\(os error 95\)$/.test(error.message)) throw error;
        facts.push('xattrs unread');
      });
    }
    if (relative.length) result[key] = facts.join(' ');
    if (stats.isDirectory()) {
      for (const name of (await readdir(absolute, { encoding: 'buffer' })).sort(Buffer.compare))
        await visit(relative.length ? Buffer.concat([relative, Buffer.from('/'), name]) : name);
    }
  };
  await visit(Buffer.alloc(0));
  return result;
}
