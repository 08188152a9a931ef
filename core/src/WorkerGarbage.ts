import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collect: ((options?: { type: 'minor' | 'major' }) => void) | undefined;

/**
 * A minor garbage collection (1–2 ms), for worker threads. A thread that makes few JS objects collects late:
 * memory moved into it (a part's transferred ArrayBuffer) or left behind by a stage (a cipher's output
 * slices) piles up until 64 MiB or more of it is garbage. Call it after each part, and whenever a stage asks.
 */
export function collectYoungGarbage(): void {
  collector()({ type: 'minor' });
}

/**
 * A full garbage collection (tens of milliseconds), where a phase that held large buffers ends and they are let
 * go (the part slots and scratch once a create's stream is stored): their memory is given back before the next
 * phase grows, instead of whenever the heap next fills.
 */
export function collectAllGarbage(): void {
  // Without options: gc({ type: 'major' }) leaves the ArrayBuffers it finds dead to a sweeper that frees them later.
  collector()();
}

function collector(): NonNullable<typeof collect> {
  if (!collect) {
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as typeof collect;
  }
  return collect!;
}

/**
 * collectYoungGarbage once the current task has returned, when the memory it was given (a part moved in) is
 * no longer reachable: a worker thread then holds no part between tasks.
 */
export function collectYoungGarbageAfterTask(): void {
  setImmediate(collectYoungGarbage);
}
