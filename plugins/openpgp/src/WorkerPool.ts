import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { EncryptionJob } from './EncryptionWorker.js';

interface Pending {
  resolve(output: Buffer): void;
  reject(error: Error): void;
}

/**
 * Threads that write OpenPGP messages, one part each at a time, so that encryption runs on every core beside
 * compression (zstd processes) and the main thread's serialization. Threads start on first use and hold the
 * process open only while they have work.
 */
export class WorkerPool {
  private readonly idle: Worker[] = [];
  private readonly queue: Array<{ job: Omit<EncryptionJob, 'id'>; pending: Pending }> = [];
  private readonly pending = new Map<number, Pending>();
  private started = 0;
  private nextId = 0;

  constructor(private readonly size = availableParallelism()) {}

  /** Writes the message in a thread; `data` is copied to it, the result comes back without a copy. */
  writeMessage(sessionKeyPackets: Uint8Array, sessionKey: Uint8Array, data: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.queue.push({ job: { sessionKeyPackets, sessionKey, data }, pending: { resolve, reject } });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const worker = this.idle.pop() ?? (this.started < this.size ? this.start() : undefined);
      if (!worker) return;
      const { job, pending } = this.queue.shift()!;
      const id = this.nextId++;
      this.pending.set(id, pending);
      (worker as Worker & { jobId?: number }).jobId = id;
      worker.ref();
      worker.postMessage({ id, ...job });
    }
  }

  private start(): Worker {
    this.started++;
    const worker = new Worker(new URL('./EncryptionWorker.js', import.meta.url)) as Worker & { jobId?: number };
    worker.on('message', (reply: { id: number; output?: Uint8Array; error?: string }) => {
      const pending = this.pending.get(reply.id)!;
      this.pending.delete(reply.id);
      worker.jobId = undefined;
      worker.unref();
      this.idle.push(worker);
      if (reply.output) pending.resolve(Buffer.from(reply.output.buffer, reply.output.byteOffset, reply.output.byteLength));
      else pending.reject(new Error(reply.error));
      this.dispatch();
    });
    worker.on('error', (error) => {
      if (worker.jobId !== undefined) this.pending.get(worker.jobId)?.reject(error);
      if (worker.jobId !== undefined) this.pending.delete(worker.jobId);
      this.started--;
      this.dispatch();
    });
    return worker;
  }
}
