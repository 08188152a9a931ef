import { fstatSync, ftruncateSync, readSync, writeSync } from 'node:fs';
import { decodeExtent } from './EncodedExtent.js';
import { copyFileRange, dataRuns, fallocate, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE } from './FileCalls.js';

/** Reads bytes of a clone source; returns how many it had (fewer at its end). */
export interface RangeSource {
  read(offset: number, into: Buffer, length: number): number;
  /** An open file that holds exactly these bytes, for the kernel to copy from… */
  fd?: number;
  /** …once what the source holds back is written to it. */
  flush?(): void;
}

/** Called before bytes [start, end) of the file change or its size does (so that the old contents can be kept elsewhere); `size` is the size before. */
export type BeforeChange = (start: number, end: number, size: number) => void;

const COPY_CHUNK = 1024 * 1024;
/** Consecutive small writes are gathered up to this many bytes, then written with one write(2)… */
const GATHER = 2 * 1024 * 1024;
/** …and a write this large is written at once: copying it would cost more than the call it saves. */
const DIRECT = 64 * 1024;
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
 * open regular file, synchronously. Consecutive writes are gathered into large writes; clones are copied by
 * the kernel (copy_file_range) where the source is an open file without holes. Zero-filled writes past the
 * end extend the file sparsely, zero-filled writes inside it become one punched hole, so holes stay holes.
 * What is gathered is written by flush(), before anything else reads the file. It knows nothing of paths:
 * whoever opens the file decides which file it is.
 */
export class FileDataWriter {
  private static buffer = Buffer.alloc(0);
  /** Gathering buffers not in use: a writer holds one only while it has gathered bytes. */
  private static spare: Buffer[] = [];
  /** Gathered writes not yet written: bytes [gatheredAt, gatheredAt + gathered) of the file, in `gather`. */
  private gather?: Buffer;
  private gatheredAt = 0;
  private gathered = 0;
  /** Zero-filled writes inside the file (protocol 1 sends holes so) not yet punched: [start, end). */
  private pendingHole?: { start: number; end: number };

  constructor(
    readonly fd: number,
    /** The file's size, gathered writes included; kept up to date by every command. */
    public size: number,
    private readonly beforeChange: BeforeChange = () => {},
  ) {}

  static open(fd: number, beforeChange?: BeforeChange): FileDataWriter {
    return new FileDataWriter(fd, fstatSync(fd).size, beforeChange);
  }

  write(offset: number, data: Buffer): void {
    checkRange(offset, data.length);
    if (data.length === 0) return;
    const end = offset + data.length;
    if (isZero(data)) return this.zeroes(offset, end);
    if (!(
      data.length < DIRECT &&
      this.gathered > 0 &&
      this.gatheredAt + this.gathered === offset &&
      this.gathered + data.length <= GATHER
    )) {
      this.flush();
      this.beforeChange(offset, end, this.size);
      if (end > this.size) this.size = end;
      if (data.length >= DIRECT) return this.writeOut(data, offset);
      this.gatheredAt = offset;
    } else {
      this.beforeChange(offset, end, this.size);
      if (end > this.size) this.size = end;
    }
    this.gather ??= FileDataWriter.spare.pop() ?? Buffer.allocUnsafeSlow(GATHER);
    data.copy(this.gather, this.gathered);
    this.gathered += data.length;
  }

  private writeOut(data: Buffer, offset: number): void {
    for (let done = 0; done < data.length;) done += writeSync(this.fd, data, done, data.length - done, offset + done);
  }

  /** Zeroes [start, end) as holes: past the end by extending the file, inside it by punching (batched). */
  private zeroes(start: number, end: number): void {
    const inside = Math.min(end, this.size);
    if (start < inside) {
      const pending = this.pendingHole;
      if (pending && pending.end === start) {
        this.beforeChange(start, inside, this.size);
        pending.end = inside;
      } else {
        this.flush();
        this.beforeChange(start, inside, this.size);
        this.pendingHole = { start, end: inside };
      }
    }
    if (end > this.size) {
      this.flush();
      this.beforeChange(this.size, this.size, this.size);
      ftruncateSync(this.fd, end);
      this.size = end;
    }
  }

  /** Writes what is gathered and punches the pending hole. Call before anything else reads or changes the file. */
  flush(): void {
    if (this.gathered > 0) {
      const gather = this.gather!;
      const length = this.gathered;
      this.gathered = 0;
      this.gather = undefined;
      this.writeOut(gather.subarray(0, length), this.gatheredAt);
      if (FileDataWriter.spare.length < 2) FileDataWriter.spare.push(gather);
    }
    const hole = this.pendingHole;
    if (hole) {
      this.pendingHole = undefined;
      this.punch(hole.start, hole.end);
    }
  }

  /** A hole over [start, end) inside the file; where the filesystem cannot punch one, zeros. */
  private punch(start: number, end: number): void {
    if (fallocate(this.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, start, end - start)) return;
    const zero = Buffer.alloc(Math.min(COPY_CHUNK, end - start));
    for (let position = start; position < end;) position += writeSync(this.fd, zero, 0, Math.min(zero.length, end - position), position);
  }

  /** Copies `length` bytes of `source` from `sourceOffset` to `offset`; past the source's end, the range stays a hole. */
  clone(offset: number, length: number, source: RangeSource, sourceOffset: number, reflinks = false): void {
    this.flush();
    checkRange(offset, length);
    checkRange(sourceOffset, length);
    let copied = 0;
    // Within one file the kernel shares extents only between ranges that do not overlap.
    const withinFile = source === (this as unknown) && (offset >= sourceOffset + length || sourceOffset >= offset + length);
    const fd = reflinks && withinFile ? this.fd : source.fd !== this.fd ? source.fd : undefined;
    if (fd !== undefined && length > 0) {
      copied = this.copyInKernel(offset, length, fd, sourceOffset, reflinks, source.flush?.bind(source));
      if (copied === length) return;
    }
    if (FileDataWriter.buffer.length < Math.min(length, COPY_CHUNK)) FileDataWriter.buffer = Buffer.alloc(COPY_CHUNK);
    const buffer = FileDataWriter.buffer;
    // Same file, destination after an overlapping source: copy backwards so that no source byte is overwritten first.
    const backwards = source === (this as unknown) && offset > sourceOffset && offset < sourceOffset + length;
    while (copied < length) {
      const chunk = Math.min(COPY_CHUNK, length - copied);
      const at = backwards ? length - copied - chunk : copied;
      const got = source.read(sourceOffset + at, buffer, chunk);
      if (got > 0) this.write(offset + at, buffer.subarray(0, got));
      if (got < chunk && !backwards) break;
      copied += chunk;
    }
    this.flush();
    if (offset + length > this.size) this.truncate(offset + length);
  }

  /**
   * A clone from an open file, copied by the kernel: its data runs with copy_file_range (the runs found with
   * SEEK_DATA, since the kernel's copy fills holes in where extents are not shared), its holes as holes.
   * Returns the bytes done: `length`, or where the kernel could not go on (the caller copies the rest).
   */
  private copyInKernel(offset: number, length: number, fd: number, sourceOffset: number, reflinks: boolean, flush?: () => void): number {
    flush?.();
    const sourceEnd = Math.min(sourceOffset + length, fstatSync(fd).size);
    const runs = reflinks ? [[sourceOffset, sourceEnd] as [number, number]] : dataRuns(fd, sourceOffset, sourceEnd);
    if (!runs) return 0;
    this.beforeChange(offset, offset + length, this.size);
    const at = (position: number) => offset + position - sourceOffset;
    let position = sourceOffset;
    for (const [start, end] of runs) {
      if (start > position) this.zeroes(at(position), at(start));
      this.flush();
      const { copied, failed } = copyFileRange(fd, start, this.fd, at(start), end - start);
      if (at(start + copied) > this.size) this.size = at(start + copied);
      position = start + copied;
      if (failed) return position - sourceOffset;
    }
    if (sourceEnd > position) this.zeroes(at(position), at(sourceEnd));
    this.flush();
    if (offset + length > this.size) this.truncate(offset + length);
    return length;
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

  /** Punches holes and preallocates as asked; where the filesystem cannot, a hole is written as zeros and preallocation only sets the size. */
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
        this.punch(offset, end);
      }
      return;
    }
    this.beforeChange(offset, offset, this.size);
    const grows = !(mode & FALLOC_FL_KEEP_SIZE) && offset + length > this.size;
    if (!fallocate(this.fd, mode, offset, length) && grows) ftruncateSync(this.fd, offset + length);
    if (grows) this.size = offset + length;
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
