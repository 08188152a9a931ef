import { collectIfGrown } from './GarbageBudget.js';

/** Spare blocks' memory kept for the next reads: more than a view's cache and its reads ahead hold at once. */
const SPARE = 32;
/** Memory is made in multiples of this, so that one piece fits blocks of about the same size. */
const GRAIN = 64 * 1024;

/**
 * Memory that index blocks are read and decoded into, given back by the readers that are done with a block (an
 * IndexView letting it go from its cache, an IndexScan passing it) and used again for the next block: a scan or an
 * incremental's lookups through a million files make no garbage per block read. What readers that never give a
 * block back leave to V8, and what else grew meanwhile, is collected by budget (GarbageBudget) as blocks are taken.
 */
export class BlockMemory {
  private readonly spare: SharedArrayBuffer[] = [];

  /** Memory of at least `bytes` bytes: a spare one, else new. */
  take(bytes: number): SharedArrayBuffer {
    collectIfGrown();
    const at = this.spare.findIndex((memory) => memory.byteLength >= bytes);
    if (at >= 0) return this.spare.splice(at, 1)[0]!;
    return new SharedArrayBuffer(Math.ceil(bytes / GRAIN) * GRAIN);
  }

  /** Memory no reader reads any more: kept for the next block, unless enough is kept. */
  give(memory: SharedArrayBuffer): void {
    if (this.spare.length < SPARE) this.spare.push(memory);
  }
}

/** The process's blocks' memory. */
export const blockMemory = new BlockMemory();
