import type { BlockRecords } from './BlockRecords.js';
import type { IndexEntry } from './FileIndex.js';
import { comparePaths } from './IndexOrder.js';
import type { IndexRun } from './IndexRun.js';
import type { IndexView } from './IndexView.js';

/** Blocks of each layer read ahead of the scan: their reads overlap what the scan's reader does meanwhile. */
const BLOCKS_AHEAD = 3;

/** One layer's records in order, its next blocks being read. */
class LayerCursor {
  records?: BlockRecords;
  at = 0;
  /** The current record's path; undefined past the last one. */
  path: string | undefined;
  private block = -1;
  private readonly ahead: Array<Promise<BlockRecords>> = [];

  constructor(private readonly run: IndexRun) {}

  /** Moves to the next record; a promise when the next block is still being read. */
  step(): Promise<void> | undefined {
    if (this.records && ++this.at < this.records.length) {
      this.path = this.records.path(this.at);
      return undefined;
    }
    if (this.block + 1 >= this.run.firsts.length) {
      if (this.records) this.run.releaseBlock?.(this.records);
      this.records = undefined;
      this.path = undefined;
      return undefined;
    }
    return this.enter();
  }

  private async enter(): Promise<void> {
    const next = ++this.block;
    for (let block = next + this.ahead.length; block < this.run.firsts.length && block <= next + BLOCKS_AHEAD; block++) {
      const reading = this.run.readBlock(block);
      reading.catch(() => {});
      this.ahead.push(reading);
    }
    // The block just passed is let go (its memory read into again) before this one is awaited.
    if (this.records) this.run.releaseBlock?.(this.records);
    this.records = undefined;
    this.records = await this.ahead.shift()!;
    this.at = 0;
    if (this.records.length === 0) return this.step();
    this.path = this.records.path(0);
  }

  isTombstone(): boolean {
    return this.records!.isTombstone(this.at);
  }
}

/**
 * One pass over a view's entries in index order (its layers merged, tombstones left out) for a reader that judges
 * most of them by their stored bytes: each gives its path and line, and is parsed only when asked. Each layer's
 * next blocks are read ahead. The position moves with next(), which returns a promise only when it must wait for a
 * block; `path` is undefined once every entry is passed.
 */
export class IndexScan {
  path: string | undefined;
  private current?: LayerCursor;

  private constructor(private readonly layers: LayerCursor[]) {}

  static async of(view: IndexView): Promise<IndexScan> {
    const layers = view.layers.map((run) => new LayerCursor(run));
    await Promise.all(layers.map((layer) => layer.step()));
    const scan = new IndexScan(layers);
    await scan.settle();
    return scan;
  }

  /** The current entry as stored (see BlockRecords.line): a view, read before the scan moves on. */
  line(): Buffer {
    return this.current!.records!.line(this.current!.at);
  }

  /** The current entry, parsed. */
  entry(): IndexEntry {
    return this.current!.records!.passing(this.current!.at) as IndexEntry;
  }

  next(): Promise<void> | undefined {
    const waiting = this.current?.step();
    return waiting ? waiting.then(() => this.settle()) : this.settle();
  }

  /** Makes the least path of the layers current: the newest layer's record of it, the others' passed; a tombstone passed too. */
  private settle(): Promise<void> | undefined {
    for (;;) {
      let least: LayerCursor | undefined;
      // Newest first: of equal paths, the first found stays.
      for (const layer of this.layers) if (layer.path !== undefined && (!least || comparePaths(layer.path, least.path!) < 0)) least = layer;
      this.current = least;
      this.path = least?.path;
      if (!least) return undefined;
      let waiting: Array<Promise<void>> | undefined;
      for (const layer of this.layers) {
        if (layer === least || layer.path !== least.path) continue;
        const stepping = layer.step();
        if (stepping) (waiting ??= []).push(stepping);
      }
      if (waiting) return Promise.all(waiting).then(() => this.settle());
      if (!least.isTombstone()) return undefined;
      const stepping = least.step();
      if (stepping) return stepping.then(() => this.settle());
    }
  }
}
