import type { IndexEntry } from '../FileIndex.js';
import { comparePaths, isWithin } from '../IndexOrder.js';
import type { IndexView } from '../IndexView.js';
import type { ManifestHead } from '../ManifestHead.js';
import { PathPattern } from '../PathPattern.js';
import { RunSearch } from '../RunSearch.js';
import { SharedBlocks } from '../SharedBlocks.js';
import type { Runtime } from '../Runtime.js';

/** Backups whose index headers are read ahead of the one searched. */
const OPEN_AHEAD = 16;

export interface FindOptions {
  /** Globs over paths inside backups, as `restore --include` takes them. */
  patterns: string[];
  /** Only backups of this source (its absolute path, as `list` shows it). */
  source?: string;
  /** Only backups created at or after this time. */
  since?: Date;
}

export interface FoundPath {
  backup: ManifestHead;
  entry: IndexEntry;
}

export interface FindResult {
  /** The backups searched, oldest first. */
  backups: ManifestHead[];
  /** Each backup's entries that match a pattern, backups oldest first, each in index order. */
  found: AsyncGenerator<FoundPath>;
  /** Once `found` is done: the patterns that matched nothing. */
  unmatched(): string[];
}

/**
 * The parts of an index the patterns can match: one lookup for a literal path, one subtree for a pattern that
 * starts with a literal directory, else the whole index. Disjoint, in index order, so no entry comes twice.
 */
function regions(patterns: PathPattern[]): Array<{ path: string; only: boolean }> {
  const wanted = patterns.map((pattern) => ({ path: pattern.literal ?? pattern.within, only: pattern.literal !== undefined }));
  wanted.sort((a, b) => comparePaths(a.path, b.path) || Number(a.only) - Number(b.only));
  const kept: Array<{ path: string; only: boolean }> = [];
  for (const region of wanted) {
    const last = kept.at(-1);
    if (last && !last.only && isWithin(region.path, last.path)) continue;
    if (last && last.only && last.path === region.path) continue;
    kept.push(region);
  }
  return kept;
}

/** A region of one backup's index: a lookup, or a subtree searched run by run (or read whole when its runs match too much). */
async function* entriesIn(index: IndexView, region: { path: string; only: boolean; search?: RunSearch }): AsyncGenerator<IndexEntry> {
  if (region.search) return yield* (await region.search.search(index)) ?? index.subtree(region.path);
  const entry = await index.get(region.path);
  if (entry) yield entry;
}

/** Which backups hold paths matching the patterns (`rast-backup find`), from their file indexes alone. */
export async function findPaths(runtime: Runtime, options: FindOptions): Promise<FindResult> {
  const { catalog } = runtime.repository;
  // The backups of a chain lie over the same runs: each run's header is read once for the whole search.
  const indexes = runtime.repository.indexes.shared();
  const patterns = options.patterns.map((pattern) => new PathPattern(pattern));
  const used = new Set<PathPattern>();
  const backups = (await catalog.entries())
    .map((entry) => entry.head)
    .filter((manifest) => options.source === undefined || manifest.source.path === options.source)
    .filter((manifest) => options.since === undefined || Date.parse(manifest.created) >= options.since.getTime());
  async function* found(): AsyncGenerator<FoundPath> {
    const blocks = new SharedBlocks();
    const test = (path: string) => patterns.some((pattern) => pattern.matches(path));
    const every = (hint: 'clue' | 'name') =>
      patterns.every((pattern) => pattern[hint] !== undefined) ? patterns.map((pattern) => pattern[hint]!) : undefined;
    const hints = { clues: every('clue'), names: every('name') };
    const searched = regions(patterns).map((region) => ({
      ...region,
      search: region.only ? undefined : new RunSearch(region.path, test, hints),
    }));
    // Index headers are opened ahead, so that their reads overlap (a sink's latency, not its speed, bounds them).
    const opening: Array<Promise<IndexView>> = [];
    let next = 0;
    for (const backup of backups) {
      while (next < backups.length && opening.length < OPEN_AHEAD) {
        const open = indexes.open(backups[next++]!);
        open.catch(() => {});
        opening.push(open);
      }
      const index = blocks.view(await opening.shift()!);
      for (const region of searched) {
        for await (const entry of entriesIn(index, region)) {
          let matched = false;
          for (const pattern of patterns)
            if (pattern.matches(entry.path)) {
              used.add(pattern);
              matched = true;
            }
          if (matched) yield { backup, entry };
        }
      }
    }
  }
  return { backups, found: found(), unmatched: () => patterns.filter((pattern) => !used.has(pattern)).map((pattern) => pattern.pattern) };
}
