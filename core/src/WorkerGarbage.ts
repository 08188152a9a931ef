import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collect: ((options: { type: 'minor' | 'major' }) => void) | undefined;

/**
 * A minor garbage collection (1–2 ms), for worker threads. A thread that makes few JS objects collects late:
 * memory moved into it (a part's transferred ArrayBuffer) or left behind by a stage (a cipher's output
 * slices) piles up until 64 MiB or more of it is garbage. Call it after each part, and whenever a stage asks.
 */
export function collectYoungGarbage(): void {
  if (!collect) {
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as typeof collect;
  }
  collect!({ type: 'minor' });
}

/**
 * collectYoungGarbage once the current task has returned, when the memory it was given (a part moved in) is
 * no longer reachable: a worker thread then holds no part between tasks.
 */
export function collectYoungGarbageAfterTask(): void {
  setImmediate(collectYoungGarbage);
}
