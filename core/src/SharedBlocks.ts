import type { BlockRecords } from './BlockRecords.js';
import type { IndexRun } from './IndexRun.js';
import { IndexView } from './IndexView.js';

/** Decoded blocks kept, across every view read through one SharedBlocks. */
const CACHED_BLOCKS = 16;

/**
 * The blocks of index runs, read once for the views of many backups (find): consecutive backups of a chain
 * lie over the same runs, and a run is the same object whichever backup's view holds it, so a block is
 * named by its run's backup and its number. The least recently used blocks are let go.
 */
export class SharedBlocks {
  private readonly blocks = new Map<string, Promise<BlockRecords>>();

  /** `view`, its layers reading through this cache. */
  view(view: IndexView): IndexView {
    const layers = view.layers.map((run): IndexRun => ({
      backupId: run.backupId,
      firsts: run.firsts,
      records: run.records,
      readBlock: (block) => this.read(run, block),
      mayHold: run.mayHold?.bind(run),
    }));
    return new IndexView(view.backupId, layers, view.entries);
  }

  private read(run: IndexRun, block: number): Promise<BlockRecords> {
    const key = `${run.backupId}\0${block}`;
    let reading = this.blocks.get(key);
    if (reading) this.blocks.delete(key);
    else {
      reading = run.readBlock(block);
      reading.catch(() => this.blocks.delete(key));
    }
    this.blocks.set(key, reading);
    for (const old of this.blocks.keys()) {
      if (this.blocks.size <= CACHED_BLOCKS) break;
      this.blocks.delete(old);
    }
    return reading;
  }
}
