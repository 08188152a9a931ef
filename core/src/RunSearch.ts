import type { IndexEntry } from './FileIndex.js';
import { lastName } from './BlockNames.js';
import { comparePaths, isWithin } from './IndexOrder.js';
import { isTombstone, type IndexRun } from './IndexRun.js';
import { blockFor, recordFor, type IndexView } from './IndexView.js';

/** Matches one run may have for the search to keep them; a run with more is searched view by view instead. */
const MATCHES_PER_RUN = 4096;
/** Matches kept across runs; the runs searched first are let go first. */
const MATCHES_KEPT = 32768;

/** Whether the run holds a record (an entry or a tombstone) of `path`. */
async function holds(run: IndexRun, path: string): Promise<boolean> {
  if (run.firsts.length === 0) return false;
  const block = blockFor(run.firsts, path);
  if (run.mayHold && !run.mayHold(block, lastName(path))) return false;
  const records = await run.readBlock(block);
  const at = recordFor(records, path);
  return at < records.length && records.path(at) === path;
}

/**
 * A search of many backups' indexes for the entries below one directory that pass a test. Backups of a chain
 * lie over the same runs (see IndexView): each run is searched once, and a backup's answer is its layers'
 * matches, each kept unless a layer above the one holding it has a record of its path (a newer entry that
 * does not match, or a tombstone). The cost follows the runs, not backups × entries.
 */
export class RunSearch {
  private readonly matched = new Map<string, IndexEntry[] | null>();
  private kept = 0;

  private readonly clues?: Buffer[];
  private readonly names?: readonly string[];

  /**
   * `clues`: text one of which every path passing `test` holds (PathPattern.clue): a block holding none is skipped
   * unparsed. `names`: last segments one of which every such path has (PathPattern.name): a block whose run's
   * filter says it holds none is skipped unread (not fetched).
   */
  constructor(
    private readonly within: string,
    private readonly test: (path: string) => boolean,
    hints: { clues?: readonly string[]; names?: readonly string[] } = {},
    private readonly perRun = MATCHES_PER_RUN,
  ) {
    this.clues = hints.clues?.map((clue) => Buffer.from(clue));
    this.names = hints.names;
  }

  /** The run's matching entries below `within`, in index order; null when it has more than `perRun`. */
  private async matchesOf(run: IndexRun): Promise<IndexEntry[] | null> {
    const known = this.matched.get(run.backupId);
    if (known !== undefined) return known;
    const found: IndexEntry[] | null = await this.scan(run);
    this.kept += found?.length ?? 0;
    for (const [id, old] of this.matched) {
      if (this.kept <= MATCHES_KEPT) break;
      this.matched.delete(id);
      this.kept -= old?.length ?? 0;
    }
    this.matched.set(run.backupId, found);
    return found;
  }

  private async scan(run: IndexRun): Promise<IndexEntry[] | null> {
    const found: IndexEntry[] = [];
    if (run.firsts.length === 0) return found;
    const first = blockFor(run.firsts, this.within);
    for (let block = first; block < run.firsts.length; block++) {
      if (block > first && !isWithin(run.firsts[block]!, this.within)) return found;
      if (this.names && run.mayHold && !this.names.some((name) => run.mayHold!(block, name))) continue;
      const records = await run.readBlock(block);
      if (this.clues && !this.clues.some((clue) => records.mayContain(clue))) continue;
      for (let at = block === first ? recordFor(records, this.within) : 0; at < records.length; at++) {
        const path = records.path(at);
        if (!isWithin(path, this.within)) return found;
        if (!this.test(path)) continue;
        const record = records.record(at);
        if (isTombstone(record)) continue;
        if (found.length === this.perRun) return null;
        found.push(record);
      }
    }
    return found;
  }

  /** The view's matching entries below `within`, in index order; undefined when a run had too many to keep (scan the view). */
  async search(view: IndexView): Promise<IndexEntry[] | undefined> {
    const candidates: Array<{ entry: IndexEntry; layer: number }> = [];
    for (const [layer, run] of view.layers.entries()) {
      const matches = await this.matchesOf(run);
      if (matches === null) return undefined;
      for (const entry of matches) candidates.push({ entry, layer });
    }
    candidates.sort((a, b) => comparePaths(a.entry.path, b.entry.path) || a.layer - b.layer);
    const found: IndexEntry[] = [];
    for (const [at, { entry, layer }] of candidates.entries()) {
      if (at > 0 && candidates[at - 1]!.entry.path === entry.path) continue;
      let shadowed = false;
      for (let above = 0; above < layer && !shadowed; above++) shadowed = await holds(view.layers[above]!, entry.path);
      if (!shadowed) found.push(entry);
    }
    return found;
  }
}
