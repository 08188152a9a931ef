import path from 'node:path';
import { pathBytes, type Exclusion } from '@rast-backup/core';
import { EntryReader, nameAt, type Listing, type ReadEntry } from './EntryReader.js';
import type { Failure } from './EntryReaderThread.js';
import type { EntryStats } from './EntryStats.js';
import type { XattrFailure } from './ExtendedAttributes.js';
import { ListingPrefetch, type PlannedDirectory, type Subdirectory } from './ListingPrefetch.js';
import { pseudoFilesystem } from './PseudoFilesystem.js';

/** Directories listed ahead of the walk when small files' content is read with them… */
const LISTINGS_AHEAD = 8;
/** …each with at most this many bytes of it; */
const LISTING_CONTENT = 1024 * 1024;
/** without content (lstat alone), a listing is a few KiB: more ahead, planned as they arrive (see ListingPrefetch). */
const STAT_LISTINGS_AHEAD = 64;

/** What a reader thread read of an entry besides its lstat (see EntryReaderThread). */
export interface EntryDetails {
  /** A symlink's target, as bytes. */
  target?: Buffer;
  xattrs?: Record<string, string>;
  /** xattrs that could not be read (see ExtendedAttributes), to be reported. */
  xattrFailures?: XattrFailure[];
  /** A small file's content (absent for files it did not read: large, sparse, hard-linked, past the listing's budget). */
  content?: { data: Buffer; shrank: boolean };
  /** The file could not be opened. */
  unreadable?: Error;
}

export interface WalkedEntry {
  /** Relative to the root, `/`-separated, as an index path (see IndexPath); the root is `.`. */
  path: string;
  /** The exact bytes of the name (Linux names need not be UTF-8). */
  absolute: Buffer;
  stats: EntryStats;
  /** With WalkOptions.details. */
  details?: EntryDetails;
}

/** What a walk reads, fixed when it starts. */
export interface WalkStart {
  /** Absolute paths left out with everything below them. */
  exclude: string[];
  /** Patterns (relative to the root) whose matches are left out with everything below them, never stat'ed nor read. */
  exclusion?: Exclusion;
  /** Directories on other filesystems are kept, empty, and not descended into. Pseudo filesystems (proc, sysfs…) never are. */
  oneFileSystem: boolean;
  /** Read every entry's symlink target, xattrs and (small files) content as well (a full backup needs them all). */
  details: boolean;
}

/** What a walk reports as it is iterated. */
export interface WalkHandlers {
  onError(relative: string, error: NodeJS.ErrnoException): void;
  /** A mount point kept empty: of another filesystem (`pseudo` undefined), or of a pseudo filesystem (its name). */
  onMountPointSkipped(relative: string, pseudo: string | undefined): void;
}

/** A walk whose listings are being read ahead already; `entries` iterates it once. */
export interface StartedWalk {
  readonly details: boolean;
  entries(handlers: WalkHandlers): AsyncGenerator<WalkedEntry>;
  /** Stops the reading ahead of a walk that is not iterated (iterating it closes it at its end). */
  close(): Promise<void>;
}

const errorOf = (failure: Failure): NodeJS.ErrnoException => Object.assign(new Error(failure.message), { code: failure.code });
const bytesOf = (data: Uint8Array) => Buffer.from(data.buffer, data.byteOffset, data.byteLength);
const SEPARATOR = Buffer.from('/');
const isDirectory = (stats: EntryStats) => (stats.mode & 0o170000n) === 0o040000n;

/** The bytes of `name` in the directory at `directory`. */
const joined = (directory: Buffer, name: Uint8Array): Buffer =>
  Buffer.concat([directory, directory.at(-1) === 0x2f ? Buffer.alloc(0) : SEPARATOR, name]);

/** A walked entry whose absolute path is joined when asked: an incremental asks it of the changed entries alone. */
class Walked implements WalkedEntry {
  details?: EntryDetails;
  private joined?: Buffer;

  constructor(
    readonly path: string,
    readonly stats: EntryStats,
    private readonly directory: Buffer,
    private readonly listing: Listing,
    private readonly at: number,
  ) {}

  get absolute(): Buffer {
    return (this.joined ??= joined(this.directory, nameAt(this.listing, this.at)));
  }
}

function walkedEntry(walked: WalkedEntry, read: ReadEntry): WalkedEntry {
  if (read.detailed) {
    const details: EntryDetails = {};
    if (read.target) details.target = bytesOf(read.target);
    if (read.xattrs) details.xattrs = read.xattrs;
    if (read.xattrFailures) details.xattrFailures = read.xattrFailures;
    if (read.content) details.content = { data: bytesOf(read.content), shrank: read.shrank! };
    if (read.unreadable) details.unreadable = errorOf(read.unreadable);
    walked.details = details;
  }
  return walked;
}

/** A directory being walked: its listing (in index order), and the place of the next entry to yield. */
interface Level {
  relative: string;
  absolute: Buffer;
  listing: Listing;
  at: number;
  /** The subdirectories the walk enters, by their place in the listing. */
  below: Map<number, PlannedDirectory>;
  /** Mount points not descended into, by place: the pseudo filesystem's name, or null for another filesystem. */
  mountPoints?: Map<number, string | null>;
  /** Places of excluded paths, left out. */
  excluded?: Set<number>;
}

/**
 * Walks a tree in index order (comparePaths): a directory, then its whole subtree, then its next sibling, names
 * compared as index paths; never following symlinks. Threads of an EntryReader list directories (readdir, and
 * lstat, xattrs… of each entry, names sorted) ahead of the walk, in its order (see ListingPrefetch): a window of
 * listings, smaller when they hold content; memory holds the entries of the directories on the current path and
 * the listings ahead. `root` is an index path. The walk starts now: its root and first listings are read while
 * the caller gets ready (a create loads its parent's index and its transforms meanwhile), and it is iterated later.
 */
export function startWalk(root: string, options: WalkStart): StartedWalk {
  const { exclusion } = options;
  const reader = new EntryReader(exclusion && !exclusion.empty ? [...exclusion.patterns] : []);
  // The excluded paths below the root, relative to it, and the directories holding them: no other listing is checked.
  const rootPrefix = root.endsWith('/') ? root : `${root}/`;
  const excluded = new Set(
    options.exclude
      .map((excludedPath) => path.resolve(excludedPath))
      .filter((excludedPath) => excludedPath.startsWith(rootPrefix) && excludedPath.length > rootPrefix.length)
      .map((excludedPath) => excludedPath.slice(rootPrefix.length)),
  );
  const holdingExcluded = new Set([...excluded].map((relative) => (relative.includes('/') ? path.posix.dirname(relative) : '.')));
  const isExcluded = (directory: PlannedDirectory, relative: string) => holdingExcluded.has(directory.relative) && excluded.has(relative);

  const childPath = (directory: PlannedDirectory, name: Uint8Array): Buffer => joined(directory.absolute, name);
  const childRelative = (directory: PlannedDirectory, name: string) =>
    directory.relative === '.' ? name : `${directory.relative}/${name}`;
  /** The subdirectories of a listing on its filesystem, not excluded: the walk enters them all. */
  const below = (directory: PlannedDirectory, listing: Listing): Subdirectory[] => {
    const found: Subdirectory[] = [];
    listing.entries.forEach((read, at) => {
      if (!read.stats || !isDirectory(read.stats) || read.stats.dev !== directory.dev) return;
      const relative = childRelative(directory, read.text!);
      if (isExcluded(directory, relative)) return;
      found.push({ at, absolute: childPath(directory, nameAt(listing, at)), relative });
    });
    return found;
  };
  const prefetch = new ListingPrefetch(reader, {
    details: options.details,
    window: options.details ? LISTINGS_AHEAD : STAT_LISTINGS_AHEAD,
    contentBudget: LISTING_CONTENT,
    // With content, the walk plans as it enters (planned on arrival, a full create took 1.3-1.8× the time, 2 rounds).
    below: options.details ? undefined : below,
  });

  /** The level of a directory the walk enters, or undefined when it cannot be listed. */
  async function enter(directory: PlannedDirectory, handlers: WalkHandlers): Promise<Level | undefined> {
    const listing = await prefetch.take(directory);
    listing.excluded?.forEach((count, pattern) => count > 0 && exclusion?.markUsed(pattern, count));
    if (listing.error) {
      handlers.onError(directory.relative, errorOf(listing.error));
      return undefined;
    }
    // In index order already: the reader thread sorts by name.
    const below = directory.below ?? new Map<number, PlannedDirectory>();
    const level: Level = { relative: directory.relative, absolute: directory.absolute, listing, at: 0, below };
    const holding = holdingExcluded.has(directory.relative);
    const unplanned: number[] = [];
    for (let at = 0; at < listing.entries.length; at++) {
      if (below.has(at)) continue;
      const read = listing.entries[at]!;
      if (holding && excluded.has(childRelative(directory, read.text!))) {
        (level.excluded ??= new Set()).add(at);
        continue;
      }
      const stats = read.stats;
      if (!stats || !isDirectory(stats)) continue;
      // A directory on another filesystem: a mount point, crossed or kept empty.
      if (stats.dev !== directory.dev) {
        const pseudo = await pseudoFilesystem(childPath(directory, nameAt(listing, at))).catch(() => undefined);
        if (options.oneFileSystem || pseudo) (level.mountPoints ??= new Map()).set(at, pseudo ?? null);
        else unplanned.push(at);
      } else if (!directory.below) unplanned.push(at);
    }
    const planned = prefetch.plan(
      unplanned.map((at) => ({
        absolute: childPath(directory, nameAt(listing, at)),
        relative: childRelative(directory, listing.entries[at]!.text!),
        dev: listing.entries[at]!.stats!.dev,
      })),
    );
    unplanned.forEach((at, place) => below.set(at, planned[place]!));
    return level;
  }

  // The root, and its listing planned as soon as its lstat is known: the reading ahead starts now.
  const rootBytes = pathBytes(root);
  const starting = reader.read([rootBytes], options.details, LISTING_CONTENT).then(([rootRead]) => {
    if (!rootRead!.stats) throw errorOf(rootRead!.error!);
    const [planned] = prefetch.plan([{ absolute: rootBytes, relative: '.', dev: rootRead!.stats.dev }]);
    return { rootRead: rootRead!, planned: planned! };
  });
  starting.catch(() => {});

  async function* entries(handlers: WalkHandlers): AsyncGenerator<WalkedEntry> {
    try {
      const { rootRead, planned } = await starting;
      yield walkedEntry({ path: '.', absolute: rootBytes, stats: rootRead.stats! }, rootRead);
      // The directories on the current path, innermost last: one generator yields every entry.
      const levels: Level[] = [];
      const top = await enter(planned, handlers);
      if (top) levels.push(top);
      while (levels.length > 0) {
        const level = levels.at(-1)!;
        const at = level.at++;
        const read = level.listing.entries[at];
        if (!read) {
          levels.pop();
          continue;
        }
        if (level.excluded?.has(at)) continue;
        const relative = level.relative === '.' ? read.text! : `${level.relative}/${read.text!}`;
        if (!read.stats) {
          handlers.onError(relative, errorOf(read.error!));
          continue;
        }
        yield walkedEntry(new Walked(relative, read.stats, level.absolute, level.listing, at), read);
        const mountPoint = level.mountPoints?.get(at);
        const planned = level.below.size > 0 ? level.below.get(at) : undefined;
        if (mountPoint !== undefined) handlers.onMountPointSkipped(relative, mountPoint ?? undefined);
        else if (planned) {
          const next = await enter(planned, handlers);
          if (next) levels.push(next);
        }
      }
    } finally {
      await reader.close();
    }
  }

  return { details: options.details, entries, close: () => reader.close() };
}
