import { collectAllGarbage } from './WorkerGarbage.js';

/**
 * Bytes read into buffers of their own (index blocks, objects verify checks) between two full garbage
 * collections. Such a buffer is garbage once used, but V8 collects them only when 64 MiB or more have piled up:
 * an incremental create, which reads most of its parent's index blocks, then held 70–80 MiB of them, and a full
 * verify, which reads every block of the stored index and then checks every object it did not decode, 60 MiB more.
 */
const COLLECT_EVERY = 16 * 1024 * 1024;
let readSinceCollected = 0;

/** Counts `bytes` about to be read into a buffer of their own, collecting every COLLECT_EVERY bytes. */
export function countRead(bytes: number): void {
  readSinceCollected += bytes;
  if (readSinceCollected < COLLECT_EVERY) return;
  readSinceCollected = 0;
  collectAllGarbage();
}
