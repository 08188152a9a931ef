import { closeSync, ftruncateSync, openSync, readSync, writeSync, constants } from 'node:fs';
import type { RangeSource } from './FileDataWriter.js';
import type { ReceiveNode } from './ReceiveTree.js';

interface Saved {
  /** The file's size in the parent snapshot. */
  originalSize: number;
  /** Ranges of the parent's bytes copied to the stash file before the stream changed them, sorted. */
  ranges: Array<{ start: number; end: number; at: number }>;
}

const CHUNK = 1024 * 1024;

/**
 * The parent snapshot's file data, unchanged, while an incremental stream changes the same files in place.
 * A CLONE from the parent names its source by its path in the parent, and the stream may already have
 * moved, overwritten, truncated or unlinked that file. So before any of the stream's changes to a file of
 * the parent, the bytes it replaces are copied to a stash file (an undo log of the stream); a read of the
 * parent takes each byte from the stash where it was saved, else from the file, which still holds it.
 * The stash grows by the parent bytes that the stream replaces and is emptied at the start of each stream.
 */
export class ParentFileView {
  private readonly fd: number;
  private length = 0;
  private saved = new Map<ReceiveNode, Saved>();
  private readonly buffer = Buffer.alloc(CHUNK);
  private stream = -1;

  constructor(stashFile: string) {
    this.fd = openSync(stashFile, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  }

  startStream(stream: number): void {
    this.stream = stream;
    this.saved.clear();
    ftruncateSync(this.fd, 0);
    this.length = 0;
  }

  /** Before bytes [start, end) of `node` (open as `fd`, `size` bytes now) change: keeps those of the parent not kept yet. */
  preserve(node: ReceiveNode, fd: number, start: number, end: number, size: number): void {
    if (node.bornIn >= this.stream) return;
    let saved = this.saved.get(node);
    if (!saved) this.saved.set(node, (saved = { originalSize: size, ranges: [] }));
    end = Math.min(end, saved.originalSize);
    let position = start;
    for (const range of [...saved.ranges]) {
      if (position >= end) break;
      if (range.end <= position) continue;
      if (range.start > position) this.keep(saved, fd, position, Math.min(range.start, end));
      position = Math.max(position, range.end);
    }
    if (position < end) this.keep(saved, fd, position, end);
  }

  private keep(saved: Saved, fd: number, start: number, end: number): void {
    const at = this.length;
    for (let position = start; position < end;) {
      const got = readSync(fd, this.buffer, 0, Math.min(CHUNK, end - position), position);
      if (got === 0) break;
      for (let done = 0; done < got;) done += writeSync(this.fd, this.buffer, done, got - done, this.length + done);
      this.length += got;
      position += got;
    }
    const ranges = saved.ranges;
    let index = ranges.findIndex((range) => range.start > start);
    if (index < 0) index = ranges.length;
    const before = ranges[index - 1];
    if (before && before.end === start && before.at + (before.end - before.start) === at) before.end = end;
    else ranges.splice(index, 0, { start, end, at });
  }

  /** The parent's bytes of `node`, whose current data `current` reads. */
  reader(node: ReceiveNode, current: RangeSource): RangeSource {
    const saved = this.saved.get(node);
    if (!saved) return current;
    return {
      read: (offset, into, length) => {
        const end = Math.min(offset + length, saved.originalSize);
        let position = offset;
        while (position < end) {
          const range = saved.ranges.find((candidate) => candidate.end > position);
          let got: number;
          if (range && range.start <= position) {
            const count = Math.min(end, range.end) - position;
            got = readSync(this.fd, into, position - offset, count, range.at + (position - range.start));
          } else {
            const count = Math.min(end, range ? range.start : end) - position;
            got = current.read(position, into.subarray(position - offset), count);
            if (got < count) into.fill(0, position - offset + got, position - offset + count);
            got = count;
          }
          if (got === 0) break;
          position += got;
        }
        return Math.max(0, position - offset);
      },
    };
  }

  close(): void {
    closeSync(this.fd);
  }
}
