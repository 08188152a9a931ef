import type { BigIntStats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';

export interface WalkedEntry {
  /** Relative to the root, `/`-separated; the root is `.`. */
  path: string;
  absolute: string;
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
  yield { path: '.', absolute: root, stats: rootStats };
  const stack: string[] = ['.'];
  while (stack.length > 0) {
    const relative = stack.pop()!;
    const directory = relative === '.' ? root : path.join(root, relative);
    let names: string[];
    try {
      names = (await readdir(directory)).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    } catch (error) {
      options.onError(relative, error as NodeJS.ErrnoException);
      continue;
    }
    const subdirectories: string[] = [];
    for (const name of names) {
      const absolute = path.join(directory, name);
      if (excluded.has(absolute)) continue;
      const childRelative = relative === '.' ? name : `${relative}/${name}`;
      let stats: BigIntStats;
      try {
        stats = await lstat(absolute, { bigint: true });
      } catch (error) {
        options.onError(childRelative, error as NodeJS.ErrnoException);
        continue;
      }
      yield { path: childRelative, absolute, stats };
      if (stats.isDirectory() && !(options.oneFileSystem && stats.dev !== rootStats.dev)) subdirectories.push(childRelative);
    }
    // Pushed in reverse so that they are visited in order, each right after its own entries are listed.
    for (const subdirectory of subdirectories.reverse()) stack.push(subdirectory);
  }
}
