import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import type { Piscina } from 'piscina';
import { fixMmapThreshold } from './AllocatorGrowth.js';

const THREADS = availableParallelism();
let pool: Piscina | undefined;

/**
 * The process's one pool of worker threads, one per core, sized once: it runs every transform's and
 * decoder's stage (PartWorker), for create's encoding and for the reads' decoding alike.
 */
export function workerPool(): Piscina {
  if (pool) return pool;
  fixMmapThreshold(); // before the part buffers are allocated and freed
  // Loaded with the first pool: a command that decodes nothing (list, --version) does not pay for it.
  const { Piscina: Pool } = createRequire(import.meta.url)('piscina') as typeof import('piscina');
  pool = new Pool({
    filename: new URL('./PartWorker.js', import.meta.url).href,
    minThreads: THREADS,
    maxThreads: THREADS,
    idleTimeout: 1000,
  });
  return pool;
}

/** Lets go of each worker thread's part-sized scratch (PartWorker's `release`), once the parts are encoded. */
export async function releaseThreadMemory(): Promise<void> {
  if (!pool) return;
  const threads = pool;
  await Promise.all(Array.from({ length: THREADS }, () => threads.run(null, { name: 'release' })));
}

/** Asks each worker thread for a full collection (PartWorker's `collect`), without waiting; none when no pool was made. */
export function collectInThreads(): void {
  if (!pool) return;
  const threads = pool;
  for (let thread = 0; thread < THREADS; thread++) threads.run(null, { name: 'collect' }).catch(() => {});
}
