import { BadAttribute, type CommandAttributes } from './CommandAttributes.js';
import { Attribute, Command } from './SendStreamDecoder.js';

/** What an entry of a received tree is. */
export type EntryKind = 'file' | 'directory' | 'symlink' | 'fifo' | 'socket' | 'char-device' | 'block-device';

/** The commands that create an entry, and what each creates (MKNOD: a device, whose mode tells which kind). */
const CREATES: Readonly<Record<number, EntryKind>> = Object.freeze({
  [Command.MKFILE]: 'file',
  [Command.MKDIR]: 'directory',
  [Command.MKNOD]: 'char-device',
  [Command.MKFIFO]: 'fifo',
  [Command.MKSOCK]: 'socket',
  [Command.SYMLINK]: 'symlink',
});

const S_IFMT = 0o170000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;

/** What a creating command makes, as the indexers and the receiver all read it. */
export interface CreatedEntry {
  kind: EntryKind;
  /** Permission bits, where the command carries a mode (devices, FIFOs, sockets); the others get theirs by CHMOD. */
  mode?: number;
  /** Symlinks: the target's bytes. */
  target?: Buffer;
  /** Devices: major and minor numbers. */
  device?: [number, number];
}

/** A device number of the send stream (the kernel's new_encode_dev) as major and minor. */
export function deviceNumbers(rdev: bigint): [number, number] {
  return [Number((rdev >> 8n) & 0xfffn), Number((rdev & 0xffn) | ((rdev >> 12n) & 0xfff00n))];
}

/** The entry a command creates, or undefined for a command that creates none. */
export function createdEntry(type: number, read: CommandAttributes): CreatedEntry | undefined {
  const kind = CREATES[type];
  if (!kind) return undefined;
  const entry: CreatedEntry = { kind };
  if (kind === 'symlink') entry.target = read.bytes(Attribute.PATH_LINK);
  const mode = type === Command.MKNOD ? read.u64(Attribute.MODE) : read.optionalU64(Attribute.MODE);
  if (type === Command.MKNOD) {
    const format = mode! & S_IFMT;
    if (format !== S_IFCHR && format !== S_IFBLK) throw new BadAttribute(`MKNOD of mode ${mode!.toString(8)}, not a device`);
    entry.kind = format === S_IFBLK ? 'block-device' : 'char-device';
    entry.device = deviceNumbers(read.bigU64(Attribute.RDEV));
  }
  if (mode) entry.mode = mode & 0o7777;
  return entry;
}
