import { closeSync, openSync, readSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { displayPath, type IndexEntry, type Logger } from '@rast-backup/core';
import type tar from 'tar-stream';
import { dataSegments, type Segment } from './DataSegments.js';
import type { EntryStats } from './EntryStats.js';
import { willNeed } from './PageCacheHint.js';
import { sparseEntry } from './PaxSparse.js';

const CHUNK = 1024 * 1024;

/** Files up to this size are read whole, ahead of their turn in the stream (see readSmallFile). */
export const SMALL_FILE = 128 * 1024;

/** Whether a file's blocks hold less than its size: it has holes, which a sparse entry leaves out. */
export const mayBeSparse = (stats: EntryStats): boolean => stats.blocks * 512n < stats.size;

/**
 * A small file's `size` bytes, read in one go: cut where it grew, zero-padded (and `shrank`) where it shrank.
 * Throws what open throws (unreadable, gone). Opened and its read started (see willNeed) at once, read after
 * the current turn: the files prepared in one turn have their reads in flight together. Synchronous system
 * calls: each costs microseconds, where a call through the thread pool costs two wake-ups.
 */
export async function readSmallFile(absolute: Buffer, size: number): Promise<{ data: Buffer; shrank: boolean }> {
  // Nothing to read: not even opened (an empty file's content is known, readable or not).
  if (size === 0) return { data: Buffer.alloc(0), shrank: false };
  const fd = openSync(absolute, 'r');
  try {
    willNeed(fd, size);
    await new Promise(setImmediate);
    const data = Buffer.allocUnsafe(size);
    let done = 0;
    while (done < size) {
      const bytesRead = readSync(fd, data, done, size - done, done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    if (done < size) data.fill(0, done);
    return { data, shrank: done < size };
  } finally {
    closeSync(fd);
  }
}

export const shrankWarning = (relative: string) =>
  `${displayPath(relative)} shrank while it was read; the rest of it is stored as zeros (back up a snapshot for a consistent copy)`;

/**
 * Exactly the bytes of `segments` of a file that may change while it is read: cut where it grew, zero-padded
 * where it shrank.
 */
async function* fileContent(handle: FileHandle, segments: Segment[], log: Logger, relative: string): AsyncGenerator<Buffer> {
  let shrank = false;
  for (const { offset, length } of segments) {
    for (let done = 0; done < length;) {
      const want = Math.min(length - done, CHUNK);
      const { bytesRead, buffer } = await handle.read(Buffer.allocUnsafe(want), 0, want, offset + done);
      if (bytesRead === 0) {
        shrank = true;
        const zeros = Buffer.alloc(want);
        done += want;
        yield zeros;
        continue;
      }
      done += bytesRead;
      yield buffer.subarray(0, bytesRead);
    }
  }
  if (shrank) log.warn(shrankWarning(relative));
}

/** A file's entry: plain, or sparse (GNU PAX 1.0) when it has holes, which are then not stored. */
export function fileEntry(
  handle: FileHandle,
  header: tar.Header,
  entry: IndexEntry,
  stats: EntryStats,
  log: Logger,
): { header: tar.Header; content: AsyncIterable<Buffer> } {
  const segments = mayBeSparse(stats) ? dataSegments(handle.fd, entry.size) : undefined;
  if (!segments) return { header, content: fileContent(handle, [{ offset: 0, length: entry.size }], log, entry.path) };
  const sparse = sparseEntry(header, entry.size, segments);
  return {
    header: sparse.header,
    content: (async function* () {
      yield sparse.map;
      yield* fileContent(handle, segments, log, entry.path);
    })(),
  };
}
