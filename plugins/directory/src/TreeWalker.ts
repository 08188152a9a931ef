import type { BigIntStats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { indexPath } from '@rast-backup/core';

export interface WalkedEntry {
  /** Relative to the root, `/`-separated, as an index path (see IndexPath); the root is `.`. */
  path: string;
  /** The exact bytes of the name (Linux names need not be UTF-8). */
  absolute: Buffer;
  stats: BigIntStats;
}

export interface WalkOptions {
  /** Absolute paths left out with everything below them. */
  exclude: string[];
  /** Directories on other filesystems are kept, empty, and not descended into. */
  oneFileSystem: boolean;
  onError(relative: string, error: NodeJS.ErrnoException): void;
}

/** Walks a tree depth-first, parents before children, names in byte order, never following symlinks. */
export async function* walkTree(root: string, options: WalkOptions): AsyncGenerator<WalkedEntry> {
  const rootStats = await lstat(root, { bigint: true });
  const excluded = new Set(options.exclude.map((excludedPath) => path.resolve(excludedPath)));
  yield { path: '.', absolute: Buffer.from(root), stats: rootStats };
  const stack: Array<{ relative: string; directory: Buffer }> = [{ relative: '.', directory: Buffer.from(root) }];
  while (stack.length > 0) {
    const { relative, directory } = stack.pop()!;
    let names: Buffer[];
    try {
      names = (await readdir(directory, { encoding: 'buffer' })).sort(Buffer.compare);
    } catch (error) {
      options.onError(relative, error as NodeJS.ErrnoException);
      continue;
    }
    const subdirectories: Array<{ relative: string; directory: Buffer }> = [];
    for (const name of names) {
      const absolute = Buffer.concat([directory, Buffer.from(directory.at(-1) === 0x2f ? '' : '/'), name]);
      if (excluded.size > 0 && excluded.has(indexPath(absolute))) continue;
      const childRelative = relative === '.' ? indexPath(name) : `${relative}/${indexPath(name)}`;
      let stats: BigIntStats;
      try {
        stats = await lstat(absolute, { bigint: true });
      } catch (error) {
        options.onError(childRelative, error as NodeJS.ErrnoException);
        continue;
      }
      yield { path: childRelative, absolute, stats };
      if (stats.isDirectory() && !(options.oneFileSystem && stats.dev !== rootStats.dev)) subdirectories.push({ relative: childRelative, directory: absolute });
    }
    // Pushed in reverse so that they are visited in order, each right after its own entries are listed.
    for (const subdirectory of subdirectories.reverse()) stack.push(subdirectory);
  }
}
