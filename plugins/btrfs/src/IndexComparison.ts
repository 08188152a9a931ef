import {
  comparePaths,
  displayPath,
  isTombstone,
  type IndexEntry,
  type IndexOutput,
  type IndexRecord,
  type IndexView,
} from '@rast-backup/core';

/** The entries of an index a format built (whole or changes over nothing), in index order. */
async function* inIndexOrder(output: IndexOutput): AsyncGenerator<IndexEntry> {
  if ('format' in output) {
    // Built in memory: sorted here (it is held whole already).
    yield* [...output.entries].sort((a, b) => comparePaths(a.path, b.path));
    return;
  }
  const records: Iterable<IndexRecord> | AsyncIterable<IndexRecord> =
    'spool' in output ? output.spool.records() : Array.isArray(output.changes) ? output.changes : output.changes.records();
  for await (const record of records) if (!isTombstone(record)) yield record;
}

const describe = (entry: IndexEntry | undefined) => (entry ? `${displayPath(entry.path)} (${entry.type}, ${entry.size} bytes)` : 'nothing');

/**
 * Compares an index rebuilt from a stream with the stored one, both in index order, entry by entry (path,
 * type, size): returns the first difference, or undefined when they hold the same files.
 */
export async function indexDifference(built: IndexOutput, stored: IndexView): Promise<string | undefined> {
  const mine = inIndexOrder(built);
  const theirs = stored.all();
  try {
    for (;;) {
      const [a, b] = await Promise.all([mine.next(), theirs.next()]);
      if (a.done && b.done) return undefined;
      const rebuilt = a.done ? undefined : a.value;
      const listed = b.done ? undefined : b.value;
      if (rebuilt?.path !== listed?.path || rebuilt?.type !== listed?.type || rebuilt?.size !== listed?.size)
        return `the stream holds ${describe(rebuilt)} where its index lists ${describe(listed)}`;
    }
  } finally {
    await Promise.all([mine.return(undefined), theirs.return(undefined)]);
  }
}
