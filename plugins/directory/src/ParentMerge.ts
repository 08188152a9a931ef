import { comparePaths, IndexScan, type IndexEntry, type IndexView } from '@rast-backup/core';
import type { WalkedEntry } from './TreeWalker.js';

/** A walked entry with the parent's entry of the same path, or a path of the parent's index the walk did not meet. */
export type Merged = { walked: WalkedEntry; previous?: IndexEntry; gone?: undefined } | { gone: string };

/**
 * A merge join of the walk with the parent's index, both in index order: a cursor moves forward through the
 * parent's entries as the walk goes (IndexScan), so that neither is held whole. A walked entry that `standing`
 * judges unchanged from the parent's stored line is counted by `onStanding`, neither yielded nor parsed. Without
 * a parent, every entry is new.
 */
export async function* mergeWithParent(
  walk: AsyncIterable<WalkedEntry>,
  parent: IndexView | undefined,
  standing: (walked: WalkedEntry, line: Buffer) => boolean,
  onStanding: () => void,
): AsyncGenerator<Merged> {
  if (!parent) {
    for await (const walked of walk) yield { walked };
    return;
  }
  const scan = await IndexScan.of(parent);
  for await (const walked of walk) {
    while (scan.path !== undefined && scan.path !== walked.path && comparePaths(scan.path, walked.path) < 0) {
      yield { gone: scan.path };
      await scan.next();
    }
    if (scan.path !== walked.path) {
      yield { walked };
      continue;
    }
    if (standing(walked, scan.line())) onStanding();
    else yield { walked, previous: scan.entry() };
    const moving = scan.next();
    if (moving) await moving;
  }
  for (; scan.path !== undefined; await scan.next()) yield { gone: scan.path };
}
