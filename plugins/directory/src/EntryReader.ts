import { Worker } from 'node:worker_threads';
import type { PackedNames, ReadEntry, ReaderData, ReadRequest, ReadResponse, SentResponse } from './EntryReaderThread.js';
import { columnViews, ColumnStats } from './StatsColumns.js';

export type { ReadEntry } from './EntryReaderThread.js';

/** A response as EntryReader gives it: its stats put back on its entries, a listing's names left packed (see nameAt). */
export type Listing = ReadResponse & PackedNames;

/** The bytes of the name of entry `at` of a listing: a view into its packed names, made when asked. */
export function nameAt({ names, nameEnds }: PackedNames, at: number): Buffer {
  const start = at === 0 ? 0 : nameEnds![at - 1]!;
  return Buffer.from(names!.buffer, names!.byteOffset + start, nameEnds![at]! - start);
}

/**
 * Threads that read entries (see EntryReaderThread). One: with two, a cold full of 100,000 files took 1.1-1.3× the
 * wall time and 1.1-1.2× the CPU at load 13-15 (2 cores; the second thread takes turns from the walk's thread).
 */
const THREADS = 1;

function received({ stats, ...response }: SentResponse): Listing {
  const views = columnViews(stats);
  response.entries.forEach((entry, at) => {
    if (!entry.error) entry.stats = new ColumnStats(views, at);
  });
  return response;
}

/**
 * Reads entries (lstat, and with `details` symlink targets, xattrs and small files' content) a batch or a whole
 * directory at a time, with synchronous system calls in threads of its own: a batch costs the main thread one
 * message, not one thread-pool round trip per call.
 */
export class EntryReader {
  private workers: Worker[] = [];
  private pending = new Map<number, { resolve(response: Listing): void; reject(error: Error): void }>();
  private ids = 0;
  private batches = new Map<Worker, ReadRequest[]>();
  private failure?: Error;

  /** `exclude`: patterns whose matches listings leave out (see EntryReaderThread). */
  constructor(private readonly exclude: string[] = []) {}

  private worker(): Worker {
    if (this.workers.length < THREADS) {
      const worker = new Worker(new URL('./EntryReaderThread.js', import.meta.url), {
        workerData: { exclude: this.exclude } satisfies ReaderData,
      });
      worker.unref();
      worker.on('message', (responses: SentResponse[]) => {
        for (const response of responses) {
          this.pending.get(response.id)?.resolve(received(response));
          this.pending.delete(response.id);
        }
      });
      const fail = (error: Error) => {
        this.failure ??= error;
        for (const { reject } of this.pending.values()) reject(error);
        this.pending.clear();
      };
      worker.on('error', fail);
      worker.on('exit', (code) => {
        if (code !== 0 || this.pending.size > 0) fail(new Error(`a thread reading the tree stopped (exit code ${code})`));
      });
      this.workers.push(worker);
      return worker;
    }
    return this.workers[this.ids % THREADS]!;
  }

  /** The entries at `paths`, in their order. */
  async read(paths: Buffer[], details: boolean, contentBudget: number): Promise<ReadEntry[]> {
    return (await this.send({ paths: paths.map((path) => Uint8Array.from(path)), details, contentBudget })).entries;
  }

  /** The entries of a directory, each with its name, in index order; `relative` (to the walk's root) is what exclude patterns see. */
  list(directory: Buffer, relative: string, details: boolean, contentBudget: number): Promise<Listing> {
    // A copy: a view is sent with all of the memory under it (a Buffer's may be a shared pool).
    return this.send({ directory: Uint8Array.from(directory), relative, details, contentBudget });
  }

  private send(request: Omit<ReadRequest, 'id'>): Promise<Listing> {
    if (this.failure) return Promise.reject(this.failure);
    const worker = this.worker();
    const id = this.ids++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // Requests made in one turn go to each thread as one message: a message costs a wake-up of the thread.
      let batch = this.batches.get(worker);
      if (!batch) {
        this.batches.set(worker, (batch = []));
        queueMicrotask(() => {
          this.batches.delete(worker);
          worker.postMessage(batch);
        });
      }
      batch.push({ ...request, id });
    });
  }

  async close(): Promise<void> {
    const workers = this.workers;
    this.workers = [];
    this.failure ??= new Error('the tree reader is closed');
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}
