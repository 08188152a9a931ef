import type { BigIntStats, Dirent } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { compareNames, indexPath, pathBytes } from '@rast-backup/core';
import { pseudoFilesystem } from './PseudoFilesystem.js';
import { readAhead } from './ReadAhead.js';

/** lstat calls in flight ahead of the consumer. */
const STATS_AHEAD = 32;

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

/** An entry listed, its lstat under way. */
interface Listed {
  path: string;
  absolute: Buffer;
  stats: Promise<BigIntStats>;
}

const statOf = (absolute: Buffer): Promise<BigIntStats> => {
  const stats = lstat(absolute, { bigint: true });
  stats.catch(() => {});
  return stats;
};

/**
 * Walks a tree in index order (comparePaths): a directory, then its whole subtree, then its next sibling, names
 * compared as index paths; never following symlinks. The entries' lstat calls run STATS_AHEAD at a time ahead of
 * the consumer; memory holds the names of the directories on the current path. `root` is an index path.
 */
export async function* walkTree(root: string, options: WalkOptions): AsyncGenerator<WalkedEntry> {
  for await (const listed of readAhead(listTree(root, options), STATS_AHEAD)) {
    let stats: BigIntStats;
    try {
      stats = await listed.stats;
    } catch (error) {
      options.onError(listed.path, error as NodeJS.ErrnoException);
      continue;
    }
    yield { path: listed.path, absolute: listed.absolute, stats };
  }
}

/** A directory, or of a type the filesystem does not give in its listings. */
const mayBeDirectory = (dirent: Dirent<Buffer>): boolean =>
  dirent.isDirectory() ||
  !(
    dirent.isFile() ||
    dirent.isSymbolicLink() ||
    dirent.isFIFO() ||
    dirent.isSocket() ||
    dirent.isCharacterDevice() ||
    dirent.isBlockDevice()
  );

/** Every entry in index order, each with its lstat started; only directories' own lstat is awaited (to descend). */
async function* listTree(root: string, options: WalkOptions): AsyncGenerator<Listed> {
  const rootBytes = pathBytes(root);
  const excluded = new Set(options.exclude.map((excludedPath) => path.resolve(excludedPath)));
  const rootStats = statOf(rootBytes);
  yield { path: '.', absolute: rootBytes, stats: rootStats };

  async function* below(relative: string, directory: Buffer, dev: bigint): AsyncGenerator<Listed> {
    let dirents: Dirent<Buffer>[];
    try {
      dirents = await readdir(directory, { encoding: 'buffer', withFileTypes: true });
    } catch (error) {
      options.onError(relative, error as NodeJS.ErrnoException);
      return;
    }
    const separator = Buffer.from(directory.at(-1) === 0x2f ? '' : '/');
    const children = dirents
      .map((dirent) => {
        const bytes = dirent.name;
        return { dirent, bytes, name: indexPath(bytes) };
      })
      .sort((a, b) => compareNames(a.name, b.name));
    dirents = [];
    for (const { dirent, bytes, name } of children) {
      const absolute = Buffer.concat([directory, separator, bytes]);
      if (excluded.size > 0 && excluded.has(indexPath(absolute))) continue;
      const childRelative = relative === '.' ? name : `${relative}/${name}`;
      const stats = statOf(absolute);
      yield { path: childRelative, absolute, stats };
      // The listing's type spares waiting for the lstat of what is not a directory (unknown on some filesystems).
      if (!mayBeDirectory(dirent)) continue;
      const childStats = await stats.catch(() => undefined);
      if (!childStats?.isDirectory()) continue;
      if (childStats.dev !== dev) {
        const pseudo = await pseudoFilesystem(absolute).catch(() => undefined);
        if (options.oneFileSystem || pseudo) {
          options.onMountPointSkipped(childRelative, pseudo);
          continue;
        }
      }
      yield* below(childRelative, absolute, childStats.dev);
    }
  }
  yield* below('.', rootBytes, (await rootStats).dev);
}
