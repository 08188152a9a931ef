import { collectAllGarbage } from './WorkerGarbage.js';
import { collectInThreads } from './WorkerPool.js';

/**
 * Growth of the memory a full collection may give back (V8's heap, and the array buffers outside it) since the last
 * one, that makes the next. V8 collects dead array buffers only once about 64 MiB of them have piled up, and lets its
 * old generation grow well past what is live: an incremental create that read each index block into memory of its
 * own held 70–80 MiB of them, a full verify 60 MiB more (index blocks, the tree's pages read back), and a full create
 * of 1,000,000 files 40–50 MiB of a walk's garbage (promoted from a young generation kept small) while its index
 * was written. Blocks are now read into memory used again (BlockMemory), so what is left to collect is what actually
 * grew; collecting per 16 MiB of blocks read instead cost an incremental 2–6 s.
 */
const BUDGET = 24 * 1024 * 1024;
/** Heap and array buffers after the last collection, or the least seen since. */
let floor: number | undefined;
let made = 0;

/**
 * Called as memory is read into (an index block, an object verify checks, a stream's part) or written from (an index
 * block stored): collects when the heap and the array buffers have grown by BUDGET since the last collection, so
 * that what readers and writers let go is given back while they go on.
 */
export function collectIfGrown(): void {
  const now = held();
  if (floor === undefined || now < floor) floor = now;
  if (now - floor < BUDGET) return;
  made++;
  collectAllGarbage();
  // Shared memory (blocks decoded in a worker thread) is freed once the workers collect too: a later check sees it.
  collectInThreads();
  floor = held();
}

/** How many collections collectIfGrown has made in this process (tests). */
export const collectionsMade = (): number => made;

function held(): number {
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}
