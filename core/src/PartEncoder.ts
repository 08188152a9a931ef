import { RastError } from './errors.js';
import type { EncoderJob, EncoderResult } from './PartWorker.js';
import { stageError } from './StageFailure.js';
import type { Transform } from './types.js';
import { workerPool } from './WorkerPool.js';
import { encodingFailed } from './diagnostics/index.js';

const WASM_PAGE = 64 * 1024;

/**
 * `bytes` of memory shared with the worker threads, page-aligned where it can be (a shared WebAssembly
 * memory starts on a page), so that a sink may write a part from it with O_DIRECT. Where the address space
 * for one is refused (a WebAssembly memory reserves guard pages), a SharedArrayBuffer, of unknown alignment.
 */
function sharedMemory(bytes: number): SharedArrayBuffer {
  const pages = Math.ceil(bytes / WASM_PAGE);
  try {
    return new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true }).buffer as unknown as SharedArrayBuffer;
  } catch {
    return new SharedArrayBuffer(bytes);
  }
}

export interface EncodedPart {
  /** The stored bytes. */
  data: Buffer;
  sha256: string;
  /** Gives the memory back for a later part: call once every sink is done with `data`. */
  release(): void;
}

/**
 * Runs the transforms over parts and hashes the result. A part goes through every transform's worker stage
 * in one thread of the core's worker pool, in place: `slots` shared buffers
 * (page-aligned SharedArrayBuffers) of the largest size a part can reach, taken by buffer() and given back by release().
 * A slot is filled on the main thread, encoded in a worker (which keeps one scratch buffer of its own) and
 * stored from the same memory, so no buffer is made, copied or moved between threads per part: memory is
 * bounded by the slots, and the garbage collector has nothing to do. Any other object (a file index's block,
 * after the parts) is copied into a free slot, so that it takes no memory of its own (a shared WebAssembly memory
 * is never given back, so slots are reused, not let go); only an object larger than a slot gets memory of its own.
 */
export class PartEncoder {
  private readonly free: Buffer[] = [];
  private readonly waiting: Array<() => void> = [];
  private allocated = 0;
  /** When each slot buffer() handed out began to be filled, and when each part being encoded or stored began. */
  private readonly filling = new Map<ArrayBufferLike, number>();
  private readonly inFlight = new Map<ArrayBufferLike, number>();
  /** Milliseconds parts took to be filled, and to be encoded and stored (released), summed, and how many. */
  private readonly fills = { total: 0, count: 0 };
  private readonly flights = { total: 0, count: 0 };
  /** The slots' memory. */
  private readonly ours = new WeakSet<ArrayBufferLike>();
  /** Bytes a buffer needs for a part of `partSize` bytes and every stage's output. */
  private readonly capacity: number;

  constructor(
    private readonly transforms: Transform[],
    private readonly partSize: number,
    private readonly slots: number,
  ) {
    this.capacity = this.needed(partSize);
  }

  /** Starts the worker threads (a few tens of milliseconds each), e.g. while a snapshot is being taken. */
  static startThreads(): void {
    workerPool();
  }

  /**
   * Buffers for `concurrency` parts in flight (being encoded or stored), plus one being filled: the source
   * (e.g. `btrfs send`, which stops whenever its pipe is full) keeps running while every part in flight is busy.
   */
  static slotsFor(concurrency: number): number {
    return concurrency + 1;
  }

  private needed(size: number): number {
    let largest = size;
    for (const transform of this.transforms) {
      size = transform.worker.bound(size);
      largest = Math.max(largest, size);
    }
    return largest;
  }

  /**
   * A buffer of at least partSize bytes for the next part's plaintext; waits while every slot is in use. Beyond two
   * slots (one filling, one in flight), a slot is made only while parts take longer to be encoded and stored than
   * to be filled, on average: when the source is the slower side (many small files, indexed on the main thread),
   * more slots would only hold parts through a stall, and a slot's memory is never given back.
   */
  async buffer(): Promise<Buffer> {
    const slot = await this.slot();
    this.filling.set(slot.buffer, performance.now());
    return slot;
  }

  /** How many slots have been made so far. */
  get slotsMade(): number {
    return this.allocated;
  }

  private async slot(): Promise<Buffer> {
    for (;;) {
      const free = this.free.pop();
      if (free) return free;
      if (this.allocated < Math.min(2, this.slots) || (this.allocated < this.slots && this.sourceFaster())) {
        this.allocated++;
        const slot = Buffer.from(sharedMemory(this.capacity));
        this.ours.add(slot.buffer);
        return slot;
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  /** Whether parts are filled faster than they are encoded and stored, on average (unknown until a part is released). */
  private sourceFaster(): boolean {
    const { fills, flights } = this;
    return flights.count > 0 && fills.count > 0 && fills.total / fills.count < flights.total / flights.count;
  }

  /** Gives back a buffer from buffer() that was not encoded (e.g. it received no byte at the end of the stream). */
  recycle(buffer: Buffer): void {
    this.filling.delete(buffer.buffer);
    if (this.ours.has(buffer.buffer)) this.giveBack(buffer.buffer as SharedArrayBuffer);
  }

  private giveBack(slot: SharedArrayBuffer): void {
    if (!this.ours.has(slot)) return;
    const began = this.inFlight.get(slot);
    if (began !== undefined) {
      this.inFlight.delete(slot);
      this.flights.total += performance.now() - began;
      this.flights.count++;
    }
    this.free.push(Buffer.from(slot));
    this.waiting.shift()?.();
  }

  /** Encodes `data`, taking it over (a buffer from buffer(), or any Buffer: copied into a free slot, which release() gives back). */
  async encode(key: string, data: Buffer): Promise<EncodedPart> {
    const called = performance.now();
    const stages = [];
    for (const transform of this.transforms) {
      const worker = transform.worker;
      stages.push({
        module: worker.module,
        options: worker.options,
        prepared: await this.step(transform, key, () => worker.prepare?.({ key })),
      });
    }
    let slot: SharedArrayBuffer;
    // The room the stages need: a whole slot for a part; for an object, its own bound, so that a worker's scratch follows it.
    let capacity: number;
    if (data.byteOffset === 0 && this.ours.has(data.buffer)) {
      [slot, capacity] = [data.buffer as SharedArrayBuffer, data.buffer.byteLength];
      const began = this.filling.get(slot);
      if (began !== undefined) {
        this.filling.delete(slot);
        this.fills.total += called - began;
        this.fills.count++;
        this.inFlight.set(slot, called);
      }
    } else {
      capacity = this.needed(data.length);
      slot = capacity <= this.capacity ? ((await this.slot()).buffer as SharedArrayBuffer) : new SharedArrayBuffer(capacity);
      Buffer.from(slot).set(data);
    }
    const job: EncoderJob = { memory: slot, length: data.length, capacity, stages };
    let result: EncoderResult;
    try {
      result = await workerPool().run(job);
    } catch (error) {
      this.giveBack(slot);
      throw encodingFailed(key, error);
    }
    if ('failed' in result) {
      this.giveBack(slot);
      throw this.failure(this.transforms[result.failed]!, key, stageError(result));
    }
    const stored = Buffer.from(slot, 0, result.length);
    let released = false;
    return {
      data: stored,
      sha256: result.sha256,
      release: () => {
        if (released) return;
        released = true;
        this.giveBack(slot);
      },
    };
  }

  private async step<T>(transform: Transform, key: string, run: () => Promise<T> | T): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw this.failure(transform, key, error as Error);
    }
  }

  private failure(transform: Transform, key: string, error: Error): RastError {
    return encodingFailed(key, error, transform);
  }
}
