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

/**
 * A backup's file index as its layers, newest first: each run's records replace or remove those of the runs
 * below it. Reads only the blocks a lookup needs, a few at a time; nothing is decoded whole.
 */
/** A record as its path and its line (encodeLine's, without the line break): text, or the UTF-8 bytes a block stores. */
export interface RecordLine {
  path: string;
  line: string | Buffer;
}

const passing = (records: BlockRecords, at: number): IndexRecord => records.passing(at);
const recordLine = (records: BlockRecords, at: number): RecordLine => ({ path: records.path(at), line: records.stored(at) });

export class IndexView {
  private readonly cache = new Map<string, Promise<BlockRecords>>();

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

  private block(layer: number, block: number): Promise<BlockRecords> {
    const run = this.layers[layer]!;
    const key = `${layer}:${block}`;
    let reading = this.cache.get(key);
    if (reading) {
      this.cache.delete(key);
    } else {
      reading = run.readBlock(block);
      reading.catch(() => this.cache.delete(key));
    }
    this.cache.set(key, reading);
    for (const old of this.cache.keys()) {
      if (this.cache.size <= CACHED_BLOCKS) break;
      this.cache.delete(old);
    }
    return reading;
  }

  /** One layer's records (as `pick` gives them) at or after `from`, reading the next block ahead; the records passed are not kept with their blocks. */
  private async *layerFrom<T>(layer: number, from: string, pick: (records: BlockRecords, at: number) => T): AsyncGenerator<T> {
    const firsts = this.layers[layer]!.firsts;
    if (firsts.length === 0) return;
    let block = blockFor(firsts, from);
    let records = await this.block(layer, block);
    let at = recordFor(records, from);
    for (;;) {
      // The next block is read once half of this one is passed: a scan waits less, a lookup reads no more.
      const ahead = Math.max(at, records.length >> 1);
      for (; at < ahead && at < records.length; at++) yield pick(records, at);
      if (block + 1 >= firsts.length) {
        for (; at < records.length; at++) yield pick(records, at);
        return;
      }
      const next = this.block(layer, block + 1);
      next.catch(() => {});
      for (; at < records.length; at++) yield pick(records, at);
      block++;
      records = await next;
      at = 0;
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
      const records = await this.block(layer, blockFor(firsts, path));
      const at = recordFor(records, path);
      if (at < records.length && records.path(at) === path) {
        const record = records.record(at);
        return isTombstone(record) ? undefined : record;
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
