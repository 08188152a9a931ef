import { comparePaths, type IndexEntry } from '@rast-backup/core';
import type { WalkedEntry } from './TreeWalker.js';

/** A walked entry with the parent's entry of the same path, or a path of the parent's index the walk did not meet. */
export type Merged = { walked: WalkedEntry; previous?: IndexEntry; gone?: undefined } | { gone: string };

/**
 * A merge join of the walk with the parent's index, both in index order: a cursor moves forward through the
 * parent's entries as the walk goes, so that neither is held whole. Without a parent, every entry is new.
 */
export async function* mergeWithParent(
  walk: AsyncIterable<WalkedEntry>,
  parent: AsyncGenerator<IndexEntry> | undefined,
): AsyncGenerator<Merged> {
  if (!parent) {
    for await (const walked of walk) yield { walked };
    return;
  }
  try {
    let head = await parent.next();
    for await (const walked of walk) {
      for (; !head.done && comparePaths(head.value.path, walked.path) < 0; head = await parent.next()) yield { gone: head.value.path };
      if (!head.done && head.value.path === walked.path) {
        yield { walked, previous: head.value };
        head = await parent.next();
      } else yield { walked };
    }
    for (; !head.done; head = await parent.next()) yield { gone: head.value.path };
  } finally {
    await parent.return(undefined);
  }
}
