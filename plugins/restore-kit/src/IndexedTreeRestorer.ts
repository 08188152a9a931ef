import path from 'node:path';
import { displayPath, ErrorCode, RastError, type IndexEntry, type RestoreContext, type RestoreReport } from '@rast-backup/core';
import { includeMatcher } from './IncludeMatcher.js';
import { applyMetadata, ownerNotSet, type XattrFilter } from './Metadata.js';
import { SafeTree } from './SafeTree.js';
import { makeSpecialFile } from './SpecialFile.js';
import { checkIndex } from './IndexCheck.js';

/** A regular file whose data a format must write: the index entry holding the data, and where it goes. */
export interface FileToFill {
  entry: IndexEntry;
  /** Relative path in the destination (the entry's own path, or that of the first wanted hard link to it). */
  target: string;
}

/**
 * Writes the data of the given files (each created with `tree.createFile(target)`, nothing else). Returns the
 * bytes written. This is the only part of a restore that differs between formats.
 */
export type FillFiles = (files: FileToFill[], tree: SafeTree) => Promise<number>;

/** What a restore needs: which entries (the --include patterns, or all), and where each file's data goes. */
function plan(context: RestoreContext) {
  checkIndex(context.index, context.target.id, new Set(context.chain.map((manifest) => manifest.id)));
  const matcher = includeMatcher(context.include);
  const byPath = new Map(context.index.entries.map((entry) => [entry.path, entry]));
  const wanted = context.index.entries.filter(
    (entry) => matcher.matches(entry.path) || (context.include.length === 0 && entry.path === '.'),
  );
  const unused = matcher.unused();
  if (unused.length > 0) {
    throw new RastError(
      ErrorCode.USAGE,
      `--include ${unused.join(' ')}: matches nothing in backup ${context.target.id} (see its files with rast-backup ls)`,
      { backup: context.target.id },
    );
  }
  const dataTarget = new Map<string, string>();
  for (const entry of wanted) if (entry.type === 'file') dataTarget.set(entry.path, entry.path);
  for (const entry of wanted) if (entry.type === 'hardlink' && !dataTarget.has(entry.linkTo!)) dataTarget.set(entry.linkTo!, entry.path);
  const directories = new Set<string>();
  for (const entry of wanted) {
    if (entry.type === 'directory') directories.add(entry.path);
    for (let parent = path.posix.dirname(entry.path); parent !== '.'; parent = path.posix.dirname(parent)) directories.add(parent);
  }
  return { byPath, wanted, dataTarget, directories };
}

/**
 * Restores the tree a backup's index describes (whole, or what --include selects, with the directories
 * leading to it) into an empty destination: directories, symlinks, fifos and devices come from the index,
 * file data from the format's `fillFiles`. Hard links are made once all data is in place, metadata after
 * that, directories' last and deepest first. Nothing is written through a symlink or outside the destination.
 * `restorable` leaves out the xattrs the format does not restore at this destination.
 */
export async function restoreIndexedTree(context: RestoreContext, fillFiles: FillFiles, restorable?: XattrFilter): Promise<RestoreReport> {
  const { byPath, wanted, dataTarget, directories } = plan(context);
  const tree = new SafeTree(context.destination);
  const isRoot = process.getuid?.() === 0;
  const skipped: string[] = [];
  const restored: IndexEntry[] = [];

  for (const directory of [...directories].sort()) await tree.directory(directory);
  const files = [...dataTarget].map(([leader, target]) => ({ entry: byPath.get(leader)!, target }));
  const bytes = await fillFiles(files, tree);
  restored.push(...files.map(({ entry, target }) => ({ ...entry, path: target })));

  for (const entry of wanted) {
    if (entry.type === 'symlink') {
      await tree.symlink(entry.target ?? '', entry.path);
    } else if (entry.type === 'fifo') {
      await tree.special(entry.path, async (directory, name) => makeSpecialFile(directory, name, 'fifo'));
    } else if (entry.type === 'char-device' || entry.type === 'block-device') {
      if (!isRoot) {
        skipped.push(`${displayPath(entry.path)}: device node (needs root)`);
        continue;
      }
      await tree.special(entry.path, async (directory, name) =>
        makeSpecialFile(directory, name, entry.type as 'char-device' | 'block-device', entry.devMajor, entry.devMinor),
      );
    } else if (entry.type === 'socket') {
      await tree.special(entry.path, async (directory, name) => makeSpecialFile(directory, name, 'socket'));
    } else continue;
    restored.push(entry);
  }
  for (const entry of wanted) {
    if (entry.type !== 'hardlink') continue;
    const target = dataTarget.get(entry.linkTo!)!;
    if (target !== entry.path) await tree.hardlink(target, entry.path);
  }
  for (const entry of restored) skipped.push(...(await applyMetadata(tree.absolute(entry.path), entry, isRoot, restorable)));
  const directoryEntries = [...new Set([...directories, ...(context.include.length === 0 ? ['.'] : [])])]
    .map((directory) => byPath.get(directory))
    .filter((entry): entry is IndexEntry => entry !== undefined)
    .sort((a, b) => b.path.split('/').length - a.path.split('/').length);
  for (const entry of directoryEntries) skipped.push(...(await applyMetadata(tree.absolute(entry.path), entry, isRoot, restorable)));

  const ownersNotSet = [...restored, ...directoryEntries].filter((entry) => ownerNotSet(entry, isRoot)).length;
  return {
    entries: restored.length + directoryEntries.length + wanted.filter((entry) => entry.type === 'hardlink').length,
    bytes,
    skipped,
    ownersNotSet,
  };
}
