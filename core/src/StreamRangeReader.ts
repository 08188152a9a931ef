import { spanOutsideStream } from './diagnostics/index.js';
import type { Manifest } from './Manifest.js';
import type { StreamSpans } from './types.js';

/**
 * Reads spans of one backup's plaintext stream, fetching (and checking) only the parts that hold them.
 * Spans are expected roughly in stream order: the last parts fetched are kept, so many small files in one
 * part cost one fetch, and a long span fetches its next parts ahead while one is used.
 */
export class StreamRangeReader implements StreamSpans {
  /** Plaintext offset where each part starts; one more entry for the stream's end. */
  private readonly starts: number[] = [0];
  private readonly parts = new Map<number, Promise<Buffer>>();
  /** Distinct parts fetched so far, and their plaintext bytes. */
  readonly fetched = new Set<number>();
  fetchedBytes = 0;

  constructor(
    readonly manifest: Manifest,
    /** Reads part `seq` as plaintext, checked (PartReader.readPart). */
    private readonly readPart: (seq: number) => Promise<Buffer>,
    private readonly readAhead = 2,
    private readonly keep = 4,
  ) {
    for (const part of manifest.parts) this.starts.push(this.starts.at(-1)! + part.size);
  }

  private part(seq: number): Promise<Buffer> {
    let reading = this.parts.get(seq);
    if (!reading) {
      reading = this.readPart(seq);
      reading.catch(() => {});
      if (!this.fetched.has(seq)) {
        this.fetched.add(seq);
        this.fetchedBytes += this.manifest.parts[seq]!.size;
      }
      this.parts.set(seq, reading);
    } else {
      this.parts.delete(seq);
      this.parts.set(seq, reading);
    }
    while (this.parts.size > this.keep + this.readAhead) this.parts.delete(this.parts.keys().next().value!);
    return reading;
  }

  /** The part holding byte `offset`. */
  private partAt(offset: number): number {
    let low = 0;
    let high = this.manifest.parts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (this.starts[middle]! <= offset) low = middle;
      else high = middle - 1;
    }
    return low;
  }

  /** Bytes [start, end) of the stream, in chunks (views into the parts). */
  async *read(start: number, end: number): AsyncIterable<Buffer> {
    const size = this.starts.at(-1)!;
    if (start < 0 || end > size || start > end) {
      throw spanOutsideStream(this.manifest.id, start, end, size);
    }
    if (start === end) return;
    const first = this.partAt(start);
    const last = this.partAt(end - 1);
    for (let seq = first; seq <= last; seq++) {
      for (let ahead = seq + 1; ahead <= Math.min(last, seq + this.readAhead); ahead++) void this.part(ahead);
      const data = await this.part(seq);
      const from = Math.max(start, this.starts[seq]!) - this.starts[seq]!;
      const to = Math.min(end, this.starts[seq + 1]!) - this.starts[seq]!;
      yield data.subarray(from, to);
    }
  }
}
