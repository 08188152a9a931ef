import { fstatSync, ftruncateSync, readSync, writeSync } from 'node:fs';
import { decodeExtent } from './EncodedExtent.js';
import { fallocate } from './SystemTools.js';

/** Reads bytes of a clone source; returns how many it had (fewer at its end). */
export interface RangeSource {
  read(offset: number, into: Buffer, length: number): number;
}

/** Called before bytes [start, end) of the file change or its size does (so that the old contents can be kept elsewhere); `size` is the size before. */
export type BeforeChange = (start: number, end: number, size: number) => void;

const FALLOC_FL_KEEP_SIZE = 1;
const FALLOC_FL_PUNCH_HOLE = 2;
const COPY_CHUNK = 1024 * 1024;
/** Number's exact integers: larger offsets or sizes can only come from a damaged stream. */
const MAX_FILE_OFFSET = Number.MAX_SAFE_INTEGER;

/** A command's data that cannot be applied; the caller adds the backup, offset and command. */
export class BadFileData extends Error {}

let zeros = Buffer.alloc(0);
function isZero(data: Buffer): boolean {
  if (zeros.length < data.length) zeros = Buffer.alloc(data.length);
  return data.equals(zeros.subarray(0, data.length));
}

function checkRange(offset: number, length: number): void {
  if (!(offset >= 0 && length >= 0 && offset + length <= MAX_FILE_OFFSET))
    throw new BadFileData(`a range of ${length} bytes at offset ${offset}, beyond any file`);
}

/**
 * Applies the data commands of a send stream (WRITE, CLONE, ENCODED_WRITE, FALLOCATE, TRUNCATE) to one
 * open regular file, synchronously. Zero-filled writes past the end extend the file sparsely, so holes stay
 * holes. It knows nothing of paths: whoever opens the file decides which file it is.
 */
export class FileDataWriter {
  private static buffer = Buffer.alloc(0);

  constructor(
    readonly fd: number,
    /** The file's size; kept up to date by every command. */
    public size: number,
    private readonly beforeChange: BeforeChange = () => {},
  ) {}

  static open(fd: number, beforeChange?: BeforeChange): FileDataWriter {
    return new FileDataWriter(fd, fstatSync(fd).size, beforeChange);
  }

  /** Zero-filled writes inside the file (protocol 1 sends holes so) become one hole punched later: [start, end). */
  private pendingHole?: { start: number; end: number };

  write(offset: number, data: Buffer): void {
    checkRange(offset, data.length);
    if (data.length === 0) return;
    const end = offset + data.length;
    if (isZero(data)) return this.zeroes(offset, end);
    this.flush();
    this.beforeChange(offset, end, this.size);
    for (let done = 0; done < data.length;) done += writeSync(this.fd, data, done, data.length - done, offset + done);
    if (end > this.size) this.size = end;
  }

  /** Zeroes [start, end) as holes: past the end by extending the file, inside it by punching (batched). */
  private zeroes(start: number, end: number): void {
    const inside = Math.min(end, this.size);
    if (start < inside) {
      this.beforeChange(start, inside, this.size);
      const pending = this.pendingHole;
      if (pending && pending.end === start) pending.end = inside;
      else {
        this.flush();
        this.pendingHole = { start, end: inside };
      }
    }
    if (end > this.size) {
      ftruncateSync(this.fd, end);
      this.size = end;
    }
  }

  /** Punches the pending hole; where the filesystem cannot, writes the zeros. Call before anything else touches the file. */
  flush(): void {
    const hole = this.pendingHole;
    if (!hole) return;
    this.pendingHole = undefined;
    try {
      fallocate(this.fd, ['--punch-hole', '--keep-size'], hole.start, hole.end - hole.start);
    } catch {
      const zero = Buffer.alloc(Math.min(COPY_CHUNK, hole.end - hole.start));
      for (let position = hole.start; position < hole.end;)
        position += writeSync(this.fd, zero, 0, Math.min(zero.length, hole.end - position), position);
    }
  }

  /** Copies `length` bytes of `source` from `sourceOffset` to `offset`; past the source's end, the range stays a hole. */
  clone(offset: number, length: number, source: RangeSource, sourceOffset: number): void {
    this.flush();
    checkRange(offset, length);
    checkRange(sourceOffset, length);
    if (FileDataWriter.buffer.length < Math.min(length, COPY_CHUNK)) FileDataWriter.buffer = Buffer.alloc(COPY_CHUNK);
    const buffer = FileDataWriter.buffer;
    // Same file, destination after an overlapping source: copy backwards so that no source byte is overwritten first.
    const backwards = source === (this as unknown) && offset > sourceOffset && offset < sourceOffset + length;
    let copied = 0;
    while (copied < length) {
      const chunk = Math.min(COPY_CHUNK, length - copied);
      const at = backwards ? length - copied - chunk : copied;
      const got = source.read(sourceOffset + at, buffer, chunk);
      if (got > 0) this.write(offset + at, buffer.subarray(0, got));
      if (got < chunk && !backwards) break;
      copied += chunk;
    }
    if (offset + length > this.size) this.truncate(offset + length);
  }

  encodedWrite(
    offset: number,
    compression: number,
    data: Buffer,
    unencodedLength: number,
    unencodedOffset: number,
    unencodedFileLength: number,
  ): void {
    checkRange(offset, unencodedFileLength);
    if (unencodedOffset + unencodedFileLength > unencodedLength) {
      throw new BadFileData(`an encoded write of bytes ${unencodedOffset}+${unencodedFileLength} of a ${unencodedLength}-byte extent`);
    }
    const decoded = decodeExtent(compression, data, unencodedLength);
    this.write(offset, decoded.subarray(unencodedOffset, unencodedOffset + unencodedFileLength));
  }

  fallocate(mode: number, offset: number, length: number): void {
    this.flush();
    checkRange(offset, length);
    if ((mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE)) !== 0)
      throw new BadFileData(`fallocate mode ${mode}, which no btrfs send emits`);
    if (mode & FALLOC_FL_PUNCH_HOLE) {
      if (!(mode & FALLOC_FL_KEEP_SIZE)) throw new BadFileData('a hole punch without KEEP_SIZE');
      const end = Math.min(offset + length, this.size);
      if (end > offset) {
        this.beforeChange(offset, end, this.size);
        fallocate(this.fd, ['--punch-hole', '--keep-size'], offset, end - offset);
      }
      return;
    }
    this.beforeChange(offset, offset, this.size);
    fallocate(this.fd, mode & FALLOC_FL_KEEP_SIZE ? ['--keep-size'] : [], offset, length);
    if (!(mode & FALLOC_FL_KEEP_SIZE) && offset + length > this.size) this.size = offset + length;
  }

  truncate(size: number): void {
    this.flush();
    checkRange(size, 0);
    this.beforeChange(Math.min(size, this.size), this.size, this.size);
    ftruncateSync(this.fd, size);
    this.size = size;
  }

  /** Reads this file's own bytes (a clone within one file). */
  read(offset: number, into: Buffer, length: number): number {
    this.flush();
    const wanted = Math.max(0, Math.min(length, this.size - offset));
    let done = 0;
    while (done < wanted) {
      const got = readSync(this.fd, into, done, wanted - done, offset + done);
      if (got === 0) break;
      done += got;
    }
    return done;
  }
}
