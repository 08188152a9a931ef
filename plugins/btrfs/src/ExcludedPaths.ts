import { readdir, rm } from 'node:fs/promises';
import { displayPath, indexPath, isWithin, PathPattern, type Exclusion, sourceFailed } from '@rast-backup/core';

/**
 * Removes from a writable snapshot (`root`, which becomes the backup's root) every path the patterns match,
 * with what lies below it, so that `btrfs send` never sees them. It descends only into directories that
 * may hold a match: those on the way to, or inside, a pattern's literal leading directory (see PathPattern).
 * Memory: the listings of the directories on the current path.
 */
export async function removeExcluded(root: string, exclusion: Exclusion): Promise<void> {
  if (exclusion.empty) return;
  const within = exclusion.patterns.map((pattern) => new PathPattern(pattern).within);
  const mayHoldMatch = (relative: string) => within.some((directory) => isWithin(relative, directory) || isWithin(directory, relative));
  const rootBytes = Buffer.from(root);
  const failed = (relative: string, error: Error): never => {
    throw sourceFailed(
      `excluding ${displayPath(relative)} from the snapshot ${root}`,
      `${error.message}${
        ['EPERM', 'ENOTDIR'].includes((error as NodeJS.ErrnoException).code ?? '')
          ? ' (an immutable or append-only file, chattr +i or +a, cannot be removed: lsattr shows them)'
          : ''
      }`,
      { path: displayPath(relative) },
    );
  };
  const visit = async (directory: Buffer, relative: string): Promise<void> => {
    const children = await readdir(directory, { encoding: 'buffer', withFileTypes: true });
    for (const child of children) {
      const absolute = Buffer.concat([directory, Buffer.from('/'), child.name]);
      const childRelative = relative === '.' ? indexPath(child.name) : `${relative}/${indexPath(child.name)}`;
      if (exclusion.excludes(childRelative))
        await rm(absolute, { recursive: true, force: true }).catch((error: Error) => failed(childRelative, error));
      else if (child.isDirectory() && mayHoldMatch(childRelative)) await visit(absolute, childRelative);
    }
  };
  await visit(rootBytes, '.');
}
