import { closeSync, lstatSync, openSync, readdirSync, readSync, constants } from 'node:fs';
import { createRequire } from 'node:module';

const FS_IOC_FIEMAP = 0xc020660b;
const FIEMAP_FLAG_SYNC = 1;
const FIEMAP_EXTENT_LAST = 0x1;
const FIEMAP_EXTENT_ENCODED = 0x8;
const FIEMAP_EXTENT_DATA_INLINE = 0x200;
const HEADER = 32;
const EXTENT = 56;
const BATCH = 512;
const BLOCK = 4096;

type Ioctl = (fd: number, request: number, buffer: Buffer) => number;
let ioctl: Ioctl | undefined;

/**
 * A file's data extents from FIEMAP (synced first): [physical start, length] in the filesystem's address space.
 * Inline extents are left out, and compressed ones: FIEMAP gives their length in the file, not on disk. With
 * `zeroBlocks: false`, each extent as its 4 KiB blocks, those whose bytes are all zeros left out.
 */
export function extentsOf(path: Buffer | string, { zeroBlocks = true } = {}): Array<[bigint, bigint]> {
  if (!ioctl) {
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    ioctl = koffi.load(null).func('int ioctl(int fd, unsigned long request, _Inout_ uint8_t *buffer)') as Ioctl;
  }
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  const extents: Array<[bigint, bigint]> = [];
  try {
    const buffer = Buffer.alloc(HEADER + BATCH * EXTENT);
    let start = 0n;
    for (;;) {
      buffer.fill(0);
      buffer.writeBigUInt64LE(start, 0);
      buffer.writeBigUInt64LE(0xffffffffffffffffn, 8);
      buffer.writeUInt32LE(FIEMAP_FLAG_SYNC, 16);
      buffer.writeUInt32LE(BATCH, 24);
      if (ioctl(fd, FS_IOC_FIEMAP, buffer) !== 0) throw new Error(`FIEMAP of ${path.toString()} failed`);
      const mapped = buffer.readUInt32LE(20);
      let last = false;
      for (let index = 0; index < mapped; index += 1) {
        const at = HEADER + index * EXTENT;
        const logical = buffer.readBigUInt64LE(at);
        const physical = buffer.readBigUInt64LE(at + 8);
        const length = buffer.readBigUInt64LE(at + 16);
        const flags = buffer.readUInt32LE(at + 40);
        if (!(flags & (FIEMAP_EXTENT_DATA_INLINE | FIEMAP_EXTENT_ENCODED))) {
          if (zeroBlocks) extents.push([physical, length]);
          else extents.push(...nonZeroBlocks(fd, logical, physical, length));
        }
        start = logical + length;
        last ||= (flags & FIEMAP_EXTENT_LAST) !== 0;
      }
      if (last || mapped === 0) break;
    }
  } finally {
    closeSync(fd);
  }
  return extents;
}

function nonZeroBlocks(fd: number, logical: bigint, physical: bigint, length: bigint): Array<[bigint, bigint]> {
  const blocks: Array<[bigint, bigint]> = [];
  const block = Buffer.alloc(BLOCK);
  for (let at = 0n; at < length; at += BigInt(BLOCK)) {
    const read = readSync(fd, block, 0, BLOCK, Number(logical + at));
    if (block.subarray(0, read).some((byte) => byte !== 0)) blocks.push([physical + at, BigInt(BLOCK)]);
  }
  return blocks;
}

/**
 * The bytes of a tree's regular files that share their disk blocks with another place in the same tree (a
 * reflink, a clone, a deduplicated range): the extents' lengths summed, minus the disk space they cover. Each
 * inode counts once (hard links are not sharing); blocks shared with other subvolumes, and compressed extents, do not count.
 * Blocks of zeros do not count either: the user-space receiver leaves zeros written inside a file as a hole, where
 * `btrfs receive` writes them (and a later clone of them shares them).
 */
export function sharedWithinTree(root: string): bigint {
  const extents: Array<[bigint, bigint]> = [];
  const seen = new Set<bigint>();
  const visit = (directory: Buffer) => {
    for (const name of readdirSync(directory, { encoding: 'buffer' })) {
      const path = Buffer.concat([directory, Buffer.from('/'), name]);
      const stats = lstatSync(path, { bigint: true });
      if (stats.isDirectory()) visit(path);
      else if (stats.isFile() && !seen.has(stats.ino)) {
        seen.add(stats.ino);
        extents.push(...extentsOf(path, { zeroBlocks: false }));
      }
    }
  };
  visit(Buffer.from(root));
  extents.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let total = 0n;
  let covered = 0n;
  let end = -1n;
  for (const [start, length] of extents) {
    total += length;
    const stop = start + length;
    if (stop > end) {
      covered += stop - (start > end ? start : end);
      end = stop;
    }
  }
  return total - covered;
}
