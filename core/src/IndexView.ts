import type { FileIndex, IndexEntry } from './FileIndex.js';
import { comparePaths, isWithin } from './IndexOrder.js';
import type { BlockRecords } from './BlockRecords.js';
import { isTombstone, MemoryRun, type IndexRecord, type IndexRun } from './IndexRun.js';

/** Decoded blocks kept for lookups and read ahead, across the layers of one view. */
const CACHED_BLOCKS = 16;

/** The last block whose first path is at or before `path` (0 when none is). */
export function blockFor(firsts: readonly string[], path: string): number {
  let low = 0;
  let high = firsts.length - 1;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if (comparePaths(firsts[middle]!, path) <= 0) low = middle;
    else high = middle - 1;
  }
  return low;
}

/** The first record at or after `path`. */
export function recordFor(records: BlockRecords, path: string): number {
  let low = 0;
  let high = records.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (comparePaths(records.path(middle), path) < 0) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** A block in a view's cache, or held by a reader after the cache let it go. */
interface CachedBlock {
  run: IndexRun;
  reading: Promise<BlockRecords>;
  /** Readers holding it (layerFrom, get). */
  readers: number;
  /** Let go from the cache. */
  dropped: boolean;
}

/** A block no reader of the view holds any more: its run may use its memory again. */
function release(cached: CachedBlock): void {
  cached.reading.then(
    (records) => cached.run.releaseBlock?.(records),
    () => {},
  );
}

/** A record as its path and its line (encodeLine's, without the line break): text, or the UTF-8 bytes a block stores. */
export interface RecordLine {
  path: string;
  line: string | Buffer;
}

const passing = (records: BlockRecords, at: number): IndexRecord => records.passing(at);
const recordLine = (records: BlockRecords, at: number): RecordLine => ({ path: records.path(at), line: records.stored(at) });

/**
 * A backup's file index as its layers, newest first: each run's records replace or remove those of the runs
 * below it. Reads only the blocks a lookup needs, a few at a time; nothing is decoded whole.
 */
export class IndexView {
  private readonly cache = new Map<string, CachedBlock>();

  constructor(
    readonly backupId: string,
    /** Newest first. */
    readonly layers: readonly IndexRun[],
    /** Entries in the whole index. */
    readonly entries: number,
  ) {}

  /** A version 1 index (decoded whole), or entries in memory, as a view of one layer. */
  static of(index: FileIndex): IndexView {
    const entries = [...index.entries].sort((a, b) => comparePaths(a.path, b.path));
    return new IndexView(index.backupId, [new MemoryRun(index.backupId, entries)], entries.length);
  }

  /** A block, held for its reader until letGo(); the least recently used of the others are let go from the cache. */
  private hold(layer: number, block: number): CachedBlock {
    const run = this.layers[layer]!;
    const key = `${layer}:${block}`;
    let cached = this.cache.get(key);
    if (cached) {
      this.cache.delete(key);
    } else {
      const reading = run.readBlock(block);
      const entry: CachedBlock = { run, reading, readers: 0, dropped: false };
      // A failed read leaves the cache, unless the block was let go and is being read again.
      reading.catch(() => {
        if (this.cache.get(key) === entry) this.cache.delete(key);
      });
      cached = entry;
    }
    cached.readers++;
    this.cache.set(key, cached);
    for (const [old, oldest] of this.cache) {
      if (this.cache.size <= CACHED_BLOCKS) break;
      this.cache.delete(old);
      oldest.dropped = true;
      if (oldest.readers === 0) release(oldest);
    }
    return cached;
  }

  /** A reader of `cached` is done with it: its memory is given back once no reader holds it and the cache has let it go. */
  private letGo(cached: CachedBlock): void {
    if (--cached.readers === 0 && cached.dropped) release(cached);
  }

  /** One layer's records (as `pick` gives them) at or after `from`, reading the next block ahead; the records passed are not kept with their blocks. */
  private async *layerFrom<T>(layer: number, from: string, pick: (records: BlockRecords, at: number) => T): AsyncGenerator<T> {
    const firsts = this.layers[layer]!.firsts;
    if (firsts.length === 0) return;
    let block = blockFor(firsts, from);
    let current = this.hold(layer, block);
    let next: CachedBlock | undefined;
    try {
      let records = await current.reading;
      let at = recordFor(records, from);
      for (;;) {
        // The next block is read once half of this one is passed: a scan waits less, a lookup reads no more.
        const ahead = Math.max(at, records.length >> 1);
        for (; at < ahead && at < records.length; at++) yield pick(records, at);
        if (block + 1 >= firsts.length) {
          for (; at < records.length; at++) yield pick(records, at);
          return;
        }
        next = this.hold(layer, block + 1);
        next.reading.catch(() => {});
        for (; at < records.length; at++) yield pick(records, at);
        block++;
        this.letGo(current);
        [current, next] = [next, undefined];
        records = await current.reading;
        at = 0;
      }
    } finally {
      this.letGo(current);
      if (next) this.letGo(next);
    }
  }

  /** Entries at or after `from`, in index order, the layers merged. */
  from(from = '.'): AsyncGenerator<IndexEntry> {
    return this.merged(from, passing, (record) => !isTombstone(record)) as AsyncGenerator<IndexEntry>;
  }

  /** The layers merged into one run's records at or after `from`: the newest record of each path, tombstones kept. */
  records(from = '.'): AsyncGenerator<IndexRecord> {
    return this.merged(from, passing, () => true);
  }

  /** records(), each as its path and its line as stored, not parsed: for a merge that writes them again. */
  lines(from = '.'): AsyncGenerator<RecordLine> {
    return this.merged(from, recordLine, () => true);
  }

  private async *merged<T extends { path: string }>(
    from: string,
    pick: (records: BlockRecords, at: number) => T,
    keep: (winner: T) => boolean,
  ): AsyncGenerator<T> {
    const cursors = this.layers.map((_, layer) => this.layerFrom(layer, from, pick));
    const heads: Array<T | undefined> = [];
    const advance = async (layer: number) => {
      const next = await cursors[layer]!.next();
      heads[layer] = next.done ? undefined : next.value;
    };
    try {
      await Promise.all(cursors.map((_, layer) => advance(layer)));
      for (;;) {
        let least: T | undefined;
        for (const head of heads) if (head && (!least || comparePaths(head.path, least.path) < 0)) least = head;
        if (!least) return;
        // The newest layer holding the path wins; the others' records of it are passed over.
        const path = least.path;
        const winner = heads.find((head) => head?.path === path)!;
        await Promise.all(heads.map((head, layer) => (head?.path === path ? advance(layer) : undefined)));
        if (keep(winner)) yield winner;
      }
    } finally {
      await Promise.all(cursors.map((cursor) => cursor.return(undefined)));
    }
  }

  /** Every entry, in index order. */
  all(): AsyncGenerator<IndexEntry> {
    return this.from('.');
  }

  /** The entry at `path`, or undefined. */
  async get(path: string): Promise<IndexEntry | undefined> {
    for (let layer = 0; layer < this.layers.length; layer++) {
      const firsts = this.layers[layer]!.firsts;
      if (firsts.length === 0) continue;
      const cached = this.hold(layer, blockFor(firsts, path));
      try {
        const records = await cached.reading;
        const at = recordFor(records, path);
        if (at < records.length && records.path(at) === path) {
          const record = records.record(at);
          return isTombstone(record) ? undefined : record;
        }
      } finally {
        this.letGo(cached);
      }
    }
    return undefined;
  }

  /** The entry at `path` and every entry below it, in index order. */
  async *subtree(path: string): AsyncGenerator<IndexEntry> {
    for await (const entry of this.from(path)) {
      if (!isWithin(entry.path, path)) return;
      yield entry;
    }
  }

  /** The entries right inside directory `path`, in index order; their subtrees are skipped, not read. */
  async *children(path: string): AsyncGenerator<IndexEntry> {
    // '' sorts right after the root, before every other path.
    let next = path === '.' ? '' : `${path}/`;
    for (;;) {
      let found: IndexEntry | undefined;
      for await (const entry of this.from(next)) {
        found = entry;
        break;
      }
      if (!found || found.path === path || !isWithin(found.path, path)) return;
      yield found;
      // Just after the child's subtree: `/` sorts before every other character.
      next = `${found.path}\0`;
    }
  }

  /** The whole index in memory, for readers that need it all at once. */
  async load(): Promise<FileIndex> {
    const entries: IndexEntry[] = [];
    for await (const entry of this.all()) entries.push(entry);
    return { format: 'rast-backup/index', version: 1, backupId: this.backupId, entries };
  }
}
