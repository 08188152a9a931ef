/** At most this many runs make an index: a lookup reads at most one block per layer. */
export const MAX_INDEX_LAYERS = 8;

/**
 * The newest runs are merged with a backup's changes while together they reach this share of the next run
 * below them (size-tiered, as LSM trees do): each run is then at least as large as all the runs above it
 * together, so a record is rewritten about log2(backups) times along a chain, never once per backup.
 */
export const MERGE_RATIO = 1;

/** What a backup's index is stored as: its run alone, or the changes merged with the parent's `merge` newest runs. */
export type Layering = { alone: true } | { alone: false; merge: number };

/**
 * The layering policy (docs/repository-format.md, "How a backup's run is chosen"). `changes`: records the
 * backup's run would hold over its parent's index; `runs`: how many records each run of the parent's index
 * holds, newest first, the bottom run last; `entries`: entries in the backup's whole index.
 *
 * - alone, once the changes and the runs above the bottom run hold more than half as many records as the
 *   index has entries: a lookup would read as much as the whole index, and storing it is then no dearer;
 * - else merged with the newest runs while the records gathered reach MERGE_RATIO of the next run (never the
 *   bottom run); while the index would pass MAX_INDEX_LAYERS, with one more, and the rule applies again from
 *   there (else a run forced to merge would only ever take in the run below it, growing by one backup's changes
 *   at every backup).
 */
export function chooseLayering(changes: number, runs: readonly number[], entries: number): Layering {
  const above = runs.slice(0, -1);
  const sinceBottom = above.reduce((sum, records) => sum + records, changes);
  if (runs.length === 0 || sinceBottom > entries / 2) return { alone: true };
  let merge = 0;
  let gathered = changes;
  for (;;) {
    while (merge < above.length && gathered >= above[merge]! * MERGE_RATIO) gathered += above[merge++]!;
    if (runs.length - merge + 1 <= MAX_INDEX_LAYERS) return { alone: false, merge };
    // One more run merged to stay within the layers; the records it brings may reach the runs below it too.
    gathered += above[merge++]!;
  }
}
