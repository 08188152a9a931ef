import path from 'node:path';
import { displayPath, includeMatchesNothing, isWithin, type IndexEntry, type RestoreContext, type RestoreReport } from '@rast-backup/core';
import { IndexChecker } from './IndexCheck.js';
import { includeMatcher, type IncludeMatcher } from './IncludeMatcher.js';
import { applyMetadata, ownerNotSet, type XattrFilter } from './Metadata.js';
import { SafeTree } from './SafeTree.js';
import { makeSpecialFile } from './SpecialFile.js';

/** A regular file whose data a format must write: the index entry holding the data, and where it goes. */
export interface FileToFill {
  entry: IndexEntry;
  /** Relative path in the destination (the entry's own path, or that of the first wanted hard link to it). */
  target: string;
}

/**
 * The files a restore writes, in index order: each iteration reads them from the index again (a few blocks
 * at a time), so a format may go over them more than once without holding them.
 */
export interface FilesToFill extends AsyncIterable<FileToFill> {
  /** How many files there are, and how many of them hold their data in each backup of the chain. */
  readonly count: number;
  readonly inBackup: ReadonlyMap<string, number>;
  /** The file to write for the index entry at `path`, if the restore writes it: for a stream read whole, in its own order. */
  lookup(path: string): Promise<FileToFill | undefined>;
}

/**
 * Writes the data of the given files (each created with `tree.createFile(target)`, nothing else). Returns the
 * bytes written. This is the only part of a restore that differs between formats.
 */
export type FillFiles = (files: FilesToFill, tree: SafeTree) => Promise<number>;

/** An entry of the subtrees a restore reads, and whether it is restored (else it is only on the way to one that is). */
interface Scanned {
  entry: IndexEntry;
  wanted: boolean;
}

/**
 * What a restore selects from the index: the --include patterns (or everything), read subtree by subtree in
 * index order. Hard links whose file is not selected get its data at the first of them (`leaders`): the one
 * thing kept per entry, and only for those links.
 */
class Selection {
  readonly matcher: IncludeMatcher;
  readonly whole: boolean;
  /** A file outside the selection → the selected hard link that gets its data. */
  readonly leaders = new Map<string, string>();

  constructor(private readonly context: RestoreContext) {
    this.matcher = includeMatcher(context.include);
    this.whole = context.include.length === 0;
  }

  wants(entryPath: string): boolean {
    return this.whole || this.matcher.matches(entryPath);
  }

  async *scan(onRoot?: (root: string) => Promise<void>): AsyncGenerator<Scanned> {
    for (const root of this.matcher.roots) {
      await onRoot?.(root);
      for await (const entry of this.context.index.subtree(root)) yield { entry, wanted: this.wants(entry.path) };
    }
  }

  async *wanted(): AsyncGenerator<IndexEntry> {
    for await (const { entry, wanted } of this.scan()) if (wanted) yield entry;
  }

  /** Where the data of the file at `leader` goes, if it is restored. */
  targetOf(leader: string): string | undefined {
    return this.wants(leader) ? leader : this.leaders.get(leader);
  }

  /** The entry of the file a hard link names (checked by IndexChecker). */
  async file(linkTo: string): Promise<IndexEntry> {
    const entry = await this.context.index.get(linkTo);
    if (entry?.type !== 'file') throw new Error(`the index no longer holds ${linkTo} as a file`);
    return entry;
  }
}

/**
 * Restores the tree a backup's index describes (whole, or what --include selects, with the directories
 * leading to it) into an empty destination, reading the index in passes in index order rather than holding
 * it: (1) checks it all (IndexChecker) before writing anything, (2) makes directories, symlinks, fifos and
 * devices, (3) file data from the format's `fillFiles`, (4) hard links once all data is in place, (5) metadata,
 * each directory's after everything inside it. Nothing is written through a symlink or outside the
 * destination. `restorable` leaves out the xattrs the format does not restore at this destination.
 */
export async function restoreIndexedTree(context: RestoreContext, fillFiles: FillFiles, restorable?: XattrFilter): Promise<RestoreReport> {
  const selection = new Selection(context);
  const { index } = context;

  // 1. check: every entry read, before anything is written
  const checker = new IndexChecker(index, context.target.id, new Set(context.chain.map((manifest) => manifest.id)));
  for await (const { entry } of selection.scan((root) => checker.enter(root))) await checker.add(entry);
  await checker.finish();
  const unused = selection.matcher.unused();
  if (unused.length > 0) {
    throw includeMatchesNothing(context.target.id, unused);
  }

  // 2. the tree but file data
  const tree = new SafeTree(context.destination);
  const isRoot = process.getuid?.() === 0;
  const skipped: string[] = [];
  const inBackup = new Map<string, number>();
  let files = 0;
  let links = 0;
  const count = (entry: IndexEntry) => {
    files++;
    inBackup.set(entry.from, (inBackup.get(entry.from) ?? 0) + 1);
  };
  for await (const entry of selection.wanted()) {
    if (entry.type === 'directory') await tree.directory(entry.path);
    else if (entry.type === 'file') count(entry);
    else if (entry.type === 'hardlink') {
      links++;
      if (!selection.wants(entry.linkTo!) && !selection.leaders.has(entry.linkTo!)) {
        selection.leaders.set(entry.linkTo!, entry.path);
        count(await selection.file(entry.linkTo!));
      }
    } else if (entry.type === 'symlink') await tree.symlink(entry.target ?? '', entry.path);
    else if (entry.type === 'fifo' || entry.type === 'socket') {
      const kind = entry.type;
      await tree.special(entry.path, async (directory, name) => makeSpecialFile(directory, name, kind));
    } else if (entry.type === 'char-device' || entry.type === 'block-device') {
      if (!isRoot) {
        skipped.push(`${displayPath(entry.path)}: device node (needs root)`);
        continue;
      }
      await tree.special(entry.path, async (directory, name) =>
        makeSpecialFile(directory, name, entry.type as 'char-device' | 'block-device', entry.devMajor, entry.devMinor),
      );
    }
  }

  // 3. file data
  const toFill: FilesToFill = {
    count: files,
    inBackup,
    async *[Symbol.asyncIterator]() {
      for await (const entry of selection.wanted()) {
        if (entry.type === 'file') yield { entry, target: entry.path };
        else if (entry.type === 'hardlink' && selection.leaders.get(entry.linkTo!) === entry.path)
          yield { entry: await selection.file(entry.linkTo!), target: entry.path };
      }
    },
    async lookup(entryPath) {
      const entry = await index.get(entryPath);
      const target = entry?.type === 'file' ? selection.targetOf(entryPath) : undefined;
      return target === undefined ? undefined : { entry: entry!, target };
    },
  };
  const bytes = await fillFiles(toFill, tree);

  // 4. hard links
  if (links > 0) {
    for await (const entry of selection.wanted()) {
      if (entry.type !== 'hardlink') continue;
      const target = selection.targetOf(entry.linkTo!)!;
      if (target !== entry.path) await tree.hardlink(target, entry.path);
    }
  }

  // 5. metadata: a directory's once its subtree is done, deepest first
  let restored = 0;
  let ownersNotSet = 0;
  const apply = async (entry: IndexEntry, at = entry.path) => {
    skipped.push(...(await applyMetadata(tree.absolute(at), entry, isRoot, restorable)));
    restored++;
    if (ownerNotSet(entry, isRoot)) ownersNotSet++;
  };
  // The directories on the path to the current entry, and whether something restored lies in each.
  const open: Array<{ entry: IndexEntry; used: boolean }> = [];
  const close = async (until?: string) => {
    while (open.length > 0 && (until === undefined || !isWithin(until, open[open.length - 1]!.entry.path))) {
      const directory = open.pop()!;
      if (directory.used) await apply(directory.entry);
    }
  };
  // Directories above the subtrees read (an --include's): their metadata comes last.
  const above = new Set<string>();
  let root = '.';
  let rootUsed = false;
  for await (const { entry, wanted } of selection.scan(async (next) => {
    await close();
    [root, rootUsed] = [next, false];
  })) {
    await close(entry.path);
    if (entry.type === 'directory') open.push({ entry, used: false });
    if (!wanted) continue;
    for (const directory of open) directory.used = true;
    if (!rootUsed) {
      rootUsed = true;
      for (let parent = path.posix.dirname(root); root !== '.' && parent !== '.'; parent = path.posix.dirname(parent)) above.add(parent);
    }
    if (entry.type === 'file' || entry.type === 'symlink' || entry.type === 'fifo' || entry.type === 'socket') await apply(entry);
    else if (entry.type === 'char-device' || entry.type === 'block-device') {
      if (isRoot) await apply(entry);
    } else if (entry.type === 'hardlink' && selection.leaders.get(entry.linkTo!) === entry.path)
      await apply(await selection.file(entry.linkTo!), entry.path);
  }
  await close();
  for (const directory of [...above].sort((a, b) => b.split('/').length - a.split('/').length)) {
    const entry = await index.get(directory);
    if (entry) await apply(entry);
  }

  return { entries: restored + links, bytes, skipped, ownersNotSet };
}
