import { Attribute, Command, sendCrc } from '../SendStreamDecoder.js';

type Value = Buffer | string | bigint;

export function u64(value: number | bigint): Buffer {
  const buffer = Buffer.alloc(8);
  buffer.writeBigUInt64LE(BigInt(value));
  return buffer;
}

export function u32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32LE(value);
  return buffer;
}

/** Writes btrfs send streams command by command, with correct CRCs unless told otherwise: crafted streams for tests. */
export class SendStreamWriter {
  private readonly parts: Buffer[] = [];

  constructor(readonly version = 1) {
    const header = Buffer.alloc(17);
    header.write('btrfs-stream\0', 'latin1');
    header.writeUInt32LE(version, 13);
    this.parts.push(header);
  }

  /** One command; attributes in the order given (strings are bytes in latin1, bigints u64). */
  command(type: number, attributes: Array<[number, Value]> = [], options: { badCrc?: boolean } = {}): this {
    const payload = Buffer.concat(
      attributes.map(([attribute, value]) => {
        const bytes = typeof value === 'bigint' ? u64(value) : typeof value === 'string' ? Buffer.from(value, 'latin1') : value;
        const header = Buffer.alloc(4);
        header.writeUInt16LE(attribute, 0);
        header.writeUInt16LE(bytes.length, 2);
        return Buffer.concat([header, bytes]);
      }),
    );
    const header = Buffer.alloc(10);
    header.writeUInt32LE(payload.length, 0);
    header.writeUInt16LE(type, 4);
    const crc = sendCrc(Buffer.concat([header, payload]));
    header.writeUInt32LE(options.badCrc ? (crc ^ 1) >>> 0 : crc, 6);
    this.parts.push(header, payload);
    return this;
  }

  subvolume(uuid = Buffer.alloc(16, 1), ctransid = 7n): this {
    return this.command(Command.SUBVOL, [
      [Attribute.PATH, 'subvolume'],
      [Attribute.UUID, uuid],
      [Attribute.CTRANSID, ctransid],
    ]);
  }

  mkfile(path: string, ino = 300n): this {
    return this.command(Command.MKFILE, [
      [Attribute.PATH, path],
      [Attribute.INO, ino],
    ]);
  }

  mkdir(path: string, ino = 301n): this {
    return this.command(Command.MKDIR, [
      [Attribute.PATH, path],
      [Attribute.INO, ino],
    ]);
  }

  symlink(path: string, target: string): this {
    return this.command(Command.SYMLINK, [
      [Attribute.PATH, path],
      [Attribute.INO, 302n],
      [Attribute.PATH_LINK, target],
    ]);
  }

  write(path: string, offset: number | bigint, data: Buffer | string): this {
    return this.command(Command.WRITE, [
      [Attribute.PATH, path],
      [Attribute.FILE_OFFSET, BigInt(offset)],
      [Attribute.DATA, typeof data === 'string' ? Buffer.from(data) : data],
    ]);
  }

  end(): this {
    return this.command(Command.END);
  }

  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}
