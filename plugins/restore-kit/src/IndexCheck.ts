import path from 'node:path';
import { comparePaths, displayPath, isWithin, restoreUnsafe, type IndexEntry, type IndexView, type RastError } from '@rast-backup/core';
import { safeRelativePath } from './SafeRelativePath.js';

/** Hard links whose target is looked up together, in index order, so that each index block is read once per batch. */
const LINK_BATCH = 4096;

/**
 * Checks that a file index describes a tree that can be restored inside a destination, entry by entry in
 * index order, keeping only the entries on the current path and a batch of hard links: safe relative paths,
 * in order and each listed once, nothing below an entry that is not a directory (a file "through" a symlink),
 * hard links only to files the index holds, each entry's data in a backup of `chain` (when known).
 * Throws RESTORE_UNSAFE naming the backup and the path.
 */
export class IndexChecker {
  /** The entries on the path to the last one checked, outermost first: all directories but maybe the last. */
  private readonly ancestors: Array<{ path: string; type: string }> = [];
  private previous: string | undefined;
  private links: Array<{ path: string; linkTo: string }> = [];

  constructor(
    private readonly index: IndexView,
    private readonly backupId: string,
    private readonly chain?: ReadonlySet<string>,
  ) {}

  private refuse(entryPath: string, reason: string): RastError {
    return restoreUnsafe(this.backupId, displayPath(entryPath), reason);
  }

  /**
   * Before the entries of a subtree that is read alone (an --include): what the index holds above it must be
   * directories. Then add() its entries.
   */
  async enter(root: string): Promise<void> {
    this.ancestors.length = 0;
    this.previous = undefined;
    if (root === '.') return;
    safeRelativePath(root, this.backupId);
    const above: string[] = [];
    for (let parent = path.posix.dirname(root); parent !== '.'; parent = path.posix.dirname(parent)) above.unshift(parent);
    for (const parent of above) {
      const entry = await this.index.get(parent);
      if (entry && entry.type !== 'directory') throw this.refuse(root, `it lies below ${displayPath(parent)}, which is a ${entry.type}`);
    }
  }

  /** The next entry, in index order. */
  async add(entry: IndexEntry): Promise<void> {
    safeRelativePath(entry.path, this.backupId);
    if (this.previous !== undefined) {
      const order = comparePaths(this.previous, entry.path);
      if (order === 0) throw this.refuse(entry.path, 'the index lists it twice');
      if (order > 0) throw this.refuse(entry.path, `the index lists it after ${displayPath(this.previous)}, out of order`);
    }
    this.previous = entry.path;
    if (this.chain && !this.chain.has(entry.from))
      throw this.refuse(entry.path, `the index says backup ${entry.from} holds it, which is not in its chain`);
    const { ancestors } = this;
    while (ancestors.length > 0 && !isWithin(entry.path, ancestors[ancestors.length - 1]!.path)) ancestors.pop();
    const parent = ancestors[ancestors.length - 1];
    if (parent && parent.type !== 'directory')
      throw this.refuse(entry.path, `it lies below ${displayPath(parent.path)}, which is a ${parent.type}`);
    ancestors.push({ path: entry.path, type: entry.type });
    if (entry.type === 'hardlink') {
      safeRelativePath(entry.linkTo ?? '', this.backupId);
      this.links.push({ path: entry.path, linkTo: entry.linkTo! });
      if (this.links.length >= LINK_BATCH) await this.checkLinks();
    }
  }

  private async checkLinks(): Promise<void> {
    const links = this.links.sort((a, b) => comparePaths(a.linkTo, b.linkTo));
    this.links = [];
    for (const { path: entryPath, linkTo } of links) {
      if ((await this.index.get(linkTo))?.type !== 'file')
        throw this.refuse(entryPath, `it is a hard link to "${displayPath(linkTo)}", which the backup does not hold as a file`);
    }
  }

  /** After the last entry: checks the hard links still pending. */
  async finish(): Promise<void> {
    await this.checkLinks();
  }
}

/**
 * Checks a whole file index (see IndexChecker), reading it once in index order; `each` sees every entry.
 * Verify runs it, so that a backup restore would refuse is never reported intact.
 */
export async function checkIndex(
  index: IndexView,
  backupId: string,
  chain?: ReadonlySet<string>,
  each?: (entry: IndexEntry) => void,
): Promise<void> {
  const checker = new IndexChecker(index, backupId, chain);
  for await (const entry of index.all()) {
    await checker.add(entry);
    each?.(entry);
  }
  await checker.finish();
}
