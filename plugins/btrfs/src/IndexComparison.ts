import { displayPath, type IndexEntry, type IndexView } from '@rast-backup/core';

const describe = (entry: IndexEntry | undefined) => (entry ? `${displayPath(entry.path)} (${entry.type}, ${entry.size} bytes)` : 'nothing');

/**
 * Compares an index rebuilt from a stream (its entries in index order) with the stored one, entry by entry
 * (path, type, size): returns the first difference, or undefined when they hold the same files.
 */
export async function indexDifference(built: Iterable<IndexEntry>, stored: IndexView): Promise<string | undefined> {
  const mine = built[Symbol.iterator]();
  const theirs = stored.all();
  try {
    for (;;) {
      const [a, b] = [mine.next(), await theirs.next()];
      if (a.done && b.done) return undefined;
      const rebuilt = a.done ? undefined : a.value;
      const listed = b.done ? undefined : b.value;
      if (rebuilt?.path !== listed?.path || rebuilt?.type !== listed?.type || rebuilt?.size !== listed?.size)
        return `the stream holds ${describe(rebuilt)} where its index lists ${describe(listed)}`;
    }
  } finally {
    mine.return?.(undefined);
    await theirs.return(undefined);
  }
}
