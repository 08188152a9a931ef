import { collectAllGarbage } from './WorkerGarbage.js';

/**
 * Growth of the memory outside V8's heap (array buffers) since the last full collection that makes the next one.
 * V8 collects dead array buffers only once about 64 MiB of them have piled up, or when its own heap fills: an
 * incremental create that read each index block into memory of its own held 70–80 MiB of them, a full verify 60 MiB
 * more (index blocks, the tree's pages read back). Blocks are now read into memory used again (BlockMemory), so
 * what is left to collect is what actually grew; collecting per 16 MiB read instead cost an incremental 2–6 s.
 */
const BUDGET = 16 * 1024 * 1024;
/** Array buffers after the last collection, or the least seen since. */
let floor: number | undefined;

/**
 * Called before memory is read into (an index block, an object verify checks): collects when the array buffers
 * have grown by BUDGET since the last collection, so that what readers let go is given back while they read on.
 */
export function collectIfGrown(): void {
  const now = process.memoryUsage().arrayBuffers;
  if (floor === undefined || now < floor) floor = now;
  if (now - floor < BUDGET) return;
  collectAllGarbage();
  floor = process.memoryUsage().arrayBuffers;
}
