import type { BigIntStats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { indexPath, pathBytes } from '@rast-backup/core';
import { pseudoFilesystem } from './PseudoFilesystem.js';

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
  /** Directories on other filesystems are kept, empty, and not descended into. Pseudo filesystems (proc, sysfs…) never are. */
  oneFileSystem: boolean;
  onError(relative: string, error: NodeJS.ErrnoException): void;
  /** A mount point kept empty: of another filesystem (`pseudo` undefined), or of a pseudo filesystem (its name). */
  onMountPointSkipped(relative: string, pseudo: string | undefined): void;
}

/**
 * Walks a tree depth-first, parents before children, names in byte order, never following symlinks. `root` is
 * an index path (see IndexPath).
 */
export async function* walkTree(root: string, options: WalkOptions): AsyncGenerator<WalkedEntry> {
  const rootBytes = pathBytes(root);
  const rootStats = await lstat(rootBytes, { bigint: true });
  const excluded = new Set(options.exclude.map((excludedPath) => path.resolve(excludedPath)));
  yield { path: '.', absolute: rootBytes, stats: rootStats };
  const stack: Array<{ relative: string; directory: Buffer; dev: bigint }> = [{ relative: '.', directory: rootBytes, dev: rootStats.dev }];
  while (stack.length > 0) {
    const { relative, directory, dev } = stack.pop()!;
    let names: Buffer[];
    try {
      names = (await readdir(directory, { encoding: 'buffer' })).sort(Buffer.compare);
    } catch (error) {
      options.onError(relative, error as NodeJS.ErrnoException);
      continue;
    }
    const subdirectories: Array<{ relative: string; directory: Buffer; dev: bigint }> = [];
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
      if (!stats.isDirectory()) continue;
      if (stats.dev !== dev) {
        const pseudo = await pseudoFilesystem(absolute).catch(() => undefined);
        if (options.oneFileSystem || pseudo) {
          options.onMountPointSkipped(childRelative, pseudo);
          continue;
        }
      }
      subdirectories.push({ relative: childRelative, directory: absolute, dev: stats.dev });
    }
    // Pushed in reverse so that they are visited in order, each right after its own entries are listed.
    for (const subdirectory of subdirectories.reverse()) stack.push(subdirectory);
  }
}
