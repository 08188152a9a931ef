import type { SyncHook } from 'tapable';
import type { Operation } from './types.js';

/** Where an operation is, as the `progress` hook reports it: bytes done of the total. */
export interface ProgressEvent {
  operation: Operation;
  /** What it works on, for a display: a source path, a backup id, `every backup`. */
  subject: string;
  /** Bytes done so far: stored (create), fetched (restore), read and checked (verify, repair), freed (prune), copied or found already there (sync, copy). */
  done: number;
  /** The bytes done at the end; null while unknown. */
  total: number | null;
  /** Whether `total` is an estimate (a create's, from its source or the source's earlier backups). */
  estimated: boolean;
}

/**
 * One operation's progress, reported through the `progress` hook on each change. Operations own one each;
 * displays only tap the hook. Nothing is built while no plugin taps it.
 */
export class ProgressCounter {
  private done = 0;

  constructor(
    private readonly hook: SyncHook<[ProgressEvent]>,
    private readonly operation: Operation,
    private readonly subject: string,
    private total: number | null = null,
    private estimated = false,
  ) {}

  /** Sets the total (an estimate when `estimated`; null: unknown). */
  setTotal(total: number | null, estimated = false): void {
    this.total = total;
    this.estimated = estimated;
    this.report();
  }

  /** Grows the total by `bytes` (work found on the way), or shrinks it (negative: work that will not be done, a copy that failed). */
  adjustTotal(bytes: number): void {
    if (this.total === null || bytes === 0) return;
    this.total += bytes;
    this.report();
  }

  /** Counts `bytes` more done. */
  add(bytes: number): void {
    this.done += bytes;
    this.report();
  }

  /** Sets the bytes done so far. */
  set(done: number): void {
    this.done = done;
    this.report();
  }

  /** `chunks` as they are, each counted as done when it is read. */
  async *counted(chunks: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
    for await (const chunk of chunks) {
      this.add(chunk.length);
      yield chunk;
    }
  }

  /** Whether anything shows the progress (the pipeline intercepts every hook, so isUsed() is always true). */
  get watched(): boolean {
    return this.hook.taps.length > 0;
  }

  private report(): void {
    if (!this.watched) return;
    const { operation, subject, done, total, estimated } = this;
    this.hook.call({ operation, subject, done, total, estimated });
  }
}
