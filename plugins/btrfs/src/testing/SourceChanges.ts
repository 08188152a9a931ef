import { open } from 'node:fs/promises';
import { sh } from './BtrfsLab.js';

/** FICLONERANGE (a reflink of part of a file), through python3: Node has no ioctl. */
export function cloneRange(source: string, sourceOffset: number, length: number, destination: string, destinationOffset: number): void {
  sh('python3', [
    '-c',
    `
import fcntl, os, struct, sys
s = os.open(sys.argv[1], os.O_RDONLY); d = os.open(sys.argv[2], os.O_RDWR | os.O_CREAT, 0o644)
fcntl.ioctl(d, 0x4020940d, struct.pack('qQQQ', s, int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])))`,
    source,
    destination,
    String(sourceOffset),
    String(length),
    String(destinationOffset),
  ]);
}

/** Several FICLONERANGE calls in one python3 run: `[sourceOffset, length, destinationOffset]` each, in order. */
export function cloneRanges(source: string, destination: string, ranges: Array<[number, number, number]>): void {
  sh('python3', [
    '-c',
    `
import fcntl, json, os, struct, sys
s = os.open(sys.argv[1], os.O_RDONLY); d = os.open(sys.argv[2], os.O_RDWR | os.O_CREAT, 0o644)
for source_offset, length, destination_offset in json.loads(sys.argv[3]):
    fcntl.ioctl(d, 0x4020940d, struct.pack('qQQQ', s, source_offset, length, destination_offset))`,
    source,
    destination,
    JSON.stringify(ranges),
  ]);
}

/** Writes `data` at `offset` of a file, creating it if needed, without truncating it. */
export async function writeAt(file: string, offset: number, data: Buffer | string): Promise<void> {
  const handle = await open(file, 'r+').catch(() => open(file, 'w'));
  await handle.write(Buffer.from(data), 0, Buffer.byteLength(data), offset);
  await handle.close();
}
