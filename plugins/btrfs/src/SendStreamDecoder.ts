import { createRequire } from 'node:module';
import { streamDamagedAt, streamDamagedInBackup, type RastError } from '@rast-backup/core';
import { AttributeViews, type CommandAttributeMap } from './AttributeViews.js';

/** Command numbers of the btrfs send stream (btrfs-progs kernel-shared/send.h). */
export const Command = Object.freeze({
  SUBVOL: 1,
  SNAPSHOT: 2,
  MKFILE: 3,
  MKDIR: 4,
  MKNOD: 5,
  MKFIFO: 6,
  MKSOCK: 7,
  SYMLINK: 8,
  RENAME: 9,
  LINK: 10,
  UNLINK: 11,
  RMDIR: 12,
  SET_XATTR: 13,
  REMOVE_XATTR: 14,
  WRITE: 15,
  CLONE: 16,
  TRUNCATE: 17,
  CHMOD: 18,
  CHOWN: 19,
  UTIMES: 20,
  END: 21,
  UPDATE_EXTENT: 22,
  FALLOCATE: 23,
  FILEATTR: 24,
  ENCODED_WRITE: 25,
  ENABLE_VERITY: 26,
});

/** Attribute types (TLV). */
export const Attribute = Object.freeze({
  UUID: 1,
  CTRANSID: 2,
  INO: 3,
  SIZE: 4,
  MODE: 5,
  UID: 6,
  GID: 7,
  RDEV: 8,
  CTIME: 9,
  MTIME: 10,
  ATIME: 11,
  OTIME: 12,
  XATTR_NAME: 13,
  XATTR_DATA: 14,
  PATH: 15,
  PATH_TO: 16,
  PATH_LINK: 17,
  FILE_OFFSET: 18,
  DATA: 19,
  CLONE_UUID: 20,
  CLONE_CTRANSID: 21,
  CLONE_PATH: 22,
  CLONE_OFFSET: 23,
  CLONE_LEN: 24,
  FALLOCATE_MODE: 25,
  FILEATTR: 26,
  UNENCODED_FILE_LEN: 27,
  UNENCODED_LEN: 28,
  UNENCODED_OFFSET: 29,
  COMPRESSION: 30,
  ENCRYPTION: 31,
});

const MAGIC = Buffer.from('btrfs-stream\0');
const STREAM_HEADER = 17;
const COMMAND_HEADER = 10;
/** No real command comes near this; a larger length means a damaged or hostile stream. */
const MAX_COMMAND = 16 * 1024 * 1024;
const MAX_ATTRIBUTE_TYPE = 35;
const ZERO_CRC_FIELD = Buffer.alloc(4);

export interface SendCommand {
  type: number;
  /** Byte offset of the command header in the (concatenated) stream. */
  offset: number;
  /** Bytes of the whole command, header included. */
  size: number;
  /** Attributes by type; values are views into the stream's bytes, valid only during the callback. */
  attributes: CommandAttributeMap;
  /** Protocol version of the stream this command belongs to. */
  version: number;
}

type Crc32c = typeof import('@node-rs/crc32').crc32c;
let nativeCrc32c: Crc32c | undefined;

/** CRC-32C, its native addon loaded on first use: commands that decode no stream never load it. */
function crc32c(data: Buffer, initial: number): number {
  nativeCrc32c ??= (createRequire(import.meta.url)('@node-rs/crc32') as typeof import('@node-rs/crc32')).crc32c;
  return nativeCrc32c(data, initial);
}

/** The CRC the send stream uses: CRC-32C with seed 0 and no final inversion. */
export function sendCrc(data: Buffer): number {
  return ~crc32c(data, 0xffffffff) >>> 0;
}

/**
 * A push decoder of btrfs send streams (v1–v3, concatenated streams too). Every command's CRC is
 * checked (unless `checkCrc: false`); attributes are found by type, never by position. Memory: at most one
 * command held. A command's attributes are views, valid only while onCommand runs.
 */
export class SendStreamDecoder {
  /** Unparsed input: the pushed chunks, never copied unless a command spans several of them; `head` bytes of the first are consumed. */
  private chunks: Buffer[] = [];
  private head = 0;
  private available = 0;
  private consumed = 0;
  private version = 0;
  private expectHeader = true;
  private ended = false;
  private readonly attributes = new AttributeViews(MAX_ATTRIBUTE_TYPE);

  /** Where a span decode (`resume`) must stop: it ends on a command boundary, not on END. */
  private readonly partial: boolean;

  /**
   * `resume`: decode a span of a stream that starts on a command boundary at `offset` (no stream header),
   * of protocol `version`, as partial restore reads the spans the index names.
   * `checkCrc: false` skips the CRC of each command: for a stream read straight from the kernel's
   * `btrfs send` at create time, which nothing could have damaged; every stored stream is checked where it
   * is read back (restore, `verify --level full`).
   * `stream`: a stored backup's stream (its errors name the backup, so that the read operations can add the
   * part), or a label for any other stream.
   */
  constructor(
    private readonly stream: { backup: string } | string,
    private readonly onCommand: (command: SendCommand) => void,
    resume?: { version: number; offset: number },
    private readonly options: { checkCrc?: boolean } = {},
  ) {
    this.partial = resume !== undefined;
    if (resume) {
      this.version = resume.version;
      this.consumed = resume.offset;
      this.expectHeader = false;
    }
  }

  private damaged(offset: number, message: string): RastError {
    const problem = `send stream damaged at byte ${offset}: ${message}`;
    return typeof this.stream === 'string'
      ? streamDamagedAt(this.stream, problem, { offset })
      : streamDamagedInBackup(this.stream.backup, problem, { offset });
  }

  /** Holds a command that spans chunks; reused, so a command's attributes are valid only during onCommand. */
  private scratch = Buffer.alloc(0);

  /**
   * Where the next `length` unparsed bytes lie in one Buffer: the first chunk (from `head`), or `scratch` (from
   * 0) when they span several chunks.
   */
  private locate(length: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length - this.head >= length) return first;
    if (this.scratch.length < length) this.scratch = Buffer.allocUnsafeSlow(Math.max(length, 256 * 1024));
    let filled = 0;
    for (const [at, chunk] of this.chunks.entries()) {
      const from = at === 0 ? this.head : 0;
      filled += chunk.copy(this.scratch, filled, from, Math.min(chunk.length, from + length - filled));
      if (filled === length) break;
    }
    return this.scratch;
  }

  private consume(length: number): void {
    this.available -= length;
    this.consumed += length;
    this.head += length;
    while (this.chunks.length > 0 && this.head >= this.chunks[0]!.length) {
      this.head -= this.chunks[0]!.length;
      this.chunks.shift();
    }
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.available += chunk.length;
    this.parse();
    this.detach();
  }

  private parse(): void {
    for (;;) {
      const offset = this.consumed;
      if (this.expectHeader) {
        if (this.available < STREAM_HEADER) return;
        const buffer = this.locate(STREAM_HEADER);
        const at = buffer === this.scratch ? 0 : this.head;
        if (buffer.compare(MAGIC, 0, MAGIC.length, at, at + MAGIC.length) !== 0) throw this.damaged(offset, 'no btrfs-stream header');
        this.version = buffer.readUInt32LE(at + 13);
        if (this.version < 1 || this.version > 3) throw this.damaged(offset, `unknown stream version ${this.version}`);
        this.consume(STREAM_HEADER);
        this.expectHeader = false;
        this.ended = false;
        continue;
      }
      if (this.available < COMMAND_HEADER) return;
      const header = this.locate(COMMAND_HEADER);
      const length = header.readUInt32LE(header === this.scratch ? 0 : this.head);
      if (length > MAX_COMMAND) throw this.damaged(offset, `command length ${length} is beyond any real command`);
      if (this.available < COMMAND_HEADER + length) return;
      const buffer = this.locate(COMMAND_HEADER + length);
      const start = buffer === this.scratch ? 0 : this.head;
      const end = start + COMMAND_HEADER + length;
      const type = buffer.readUInt16LE(start + 4);
      if (this.options.checkCrc !== false) {
        const crc = buffer.readUInt32LE(start + 6);
        // CRC over the header with its crc field zeroed, then the payload.
        let actual = crc32c(buffer.subarray(start, start + 6), 0xffffffff);
        actual = crc32c(ZERO_CRC_FIELD, actual);
        actual = ~crc32c(buffer.subarray(start + COMMAND_HEADER, end), actual) >>> 0;
        if (actual !== crc)
          throw this.damaged(offset, `CRC32C mismatch in command ${type} (stored ${crc.toString(16)}, computed ${actual.toString(16)})`);
      }
      this.parseAttributes(buffer, start + COMMAND_HEADER, end, offset, type);
      this.onCommand({ type, offset, size: COMMAND_HEADER + length, attributes: this.attributes, version: this.version });
      this.consume(COMMAND_HEADER + length);
      if (type === Command.END) {
        this.ended = true;
        this.expectHeader = true;
      }
    }
  }

  /** Notes where each attribute of the payload `buffer[start, end)` lies. */
  private parseAttributes(buffer: Buffer, start: number, end: number, offset: number, type: number): void {
    const attributes = this.attributes;
    attributes.reset(buffer);
    let position = start;
    while (position < end) {
      if (end - position < 2) throw this.damaged(offset, `truncated attribute in command ${type}`);
      const attribute = buffer.readUInt16LE(position);
      if (attribute === 0 || attribute > MAX_ATTRIBUTE_TYPE)
        throw this.damaged(offset, `invalid attribute type ${attribute} in command ${type}`);
      if (attribute === Attribute.DATA && this.version >= 2) {
        attributes.set(attribute, position + 2, end);
        break;
      }
      if (end - position < 4) throw this.damaged(offset, `truncated attribute in command ${type}`);
      const length = buffer.readUInt16LE(position + 2);
      if (position + 4 + length > end) throw this.damaged(offset, `attribute ${attribute} overruns command ${type}`);
      attributes.set(attribute, position + 4, position + 4 + length);
      position += 4 + length;
    }
  }

  /**
   * Copies the bytes it holds of an unfinished command into memory of its own (at the end of every push), so
   * that the caller may reuse (or hand to another thread) every buffer it has pushed.
   */
  private detach(): void {
    if (this.chunks.length === 0) return;
    this.chunks[0] = this.chunks[0]!.subarray(this.head);
    this.head = 0;
    this.chunks = [Buffer.concat(this.chunks, this.available)];
  }

  /** Call at the end of input: the stream must end on a complete END command. */
  finish(): void {
    if (this.available > 0) throw this.damaged(this.consumed, `${this.available} bytes of a truncated command at the end`);
    if (!this.ended && !this.partial) throw this.damaged(this.consumed, 'the stream ends without an END command');
  }
}

/** Attribute values are read through CommandAttributes.ts, which refuses a missing or short one. */
