import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';

const THREADS = availableParallelism();
let pool: Piscina | undefined;

/**
 * The process's one pool of worker threads, one per core, sized once: it runs every transform's and
 * decoder's stage (PartWorker), for create's encoding and for the reads' decoding alike.
 */
export function workerPool(): Piscina {
  pool ??= new Piscina({
    filename: new URL('./PartWorker.js', import.meta.url).href,
    minThreads: THREADS,
    maxThreads: THREADS,
    idleTimeout: 1000,
  });
  return pool;
}
