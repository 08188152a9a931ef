import { createRequire } from 'node:module';
import { setFlagsFromString } from 'node:v8';

// Memory that grows with the length of a run, not with what it holds: each limit below keeps an 8 GiB backup's
// peak where a 2 GiB one's is (docs/benchmarks.md, issue 17).

/**
 * V8 doubles a thread's young generation whenever enough of it survives scavenges, up to 2 × 16 MiB on 64-bit, and
 * does not shrink it while the thread is busy: the longer the run, the likelier the main thread reaches the maximum
 * (16 MiB more RSS, and the spread between runs of one command). With growth off, each young generation keeps the
 * size it has (V8 may still double it once). The process's entry calls it first (loading the modules grows it too),
 * and each worker thread again as it starts: starting a worker thread sets V8's flags back to their defaults.
 */
export function limitYoungGeneration(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
}

/** glibc's mallopt parameter for the size from which a block gets a mapping of its own. */
const M_MMAP_THRESHOLD = -3;
/** glibc's default threshold; setting it (to any value) also stops it from growing. */
const MMAP_THRESHOLD = 128 * 1024;
let threshold: 'set' | 'unavailable' | undefined;

/**
 * glibc raises its mmap threshold to the size of every mapped block freed (up to 32 MiB); blocks below it then come
 * from its arenas, whose freed holes stay resident and add up over a run. A threshold set once (to glibc's default)
 * stops that: large blocks are mapped apart and unmapped when freed. Called before the worker threads start (the
 * parts' buffers); does nothing where glibc or koffi is missing (musl has no such threshold).
 */
export function fixMmapThreshold(): void {
  if (threshold) return;
  try {
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    const mallopt = koffi.load('libc.so.6').func('int mallopt(int param, int value)') as (param: number, value: number) => number;
    threshold = mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) === 1 ? 'set' : 'unavailable';
  } catch {
    threshold = 'unavailable';
  }
}
