import { createRequire } from 'node:module';

/** Mode bits of fallocate(2). */
export const FALLOC_FL_KEEP_SIZE = 1;
export const FALLOC_FL_PUNCH_HOLE = 2;

type Fallocate = (fd: number, mode: number, offset: number, length: number) => number;
type Lseek = (fd: number, offset: number, whence: number) => number;
type CopyFileRange = (inFd: number, inOffset: [number], outFd: number, outOffset: [number], length: number, flags: number) => number;
type Fcntl = (fd: number, command: number, ...typedArguments: unknown[]) => number;
let calls: { fallocate: Fallocate; copyFileRange: CopyFileRange; lseek: Lseek; fcntl: Fcntl; errno: () => number } | null | undefined;

const SEEK_DATA = 3;
const SEEK_HOLE = 4;
const ENXIO = 6;
const F_SETPIPE_SZ = 1031;

/** libc's fallocate, copy_file_range, lseek (SEEK_DATA/SEEK_HOLE) and fcntl through koffi (Node's fs has none of them), or null where they cannot be reached. */
function libc(): typeof calls {
  if (calls === undefined) {
    try {
      // Loaded on first use: most commands never need it.
      const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
      const library = koffi.load(null);
      calls = {
        fallocate: library.func('int fallocate(int fd, int mode, int64_t offset, int64_t len)') as Fallocate,
        copyFileRange: library.func(
          'int64_t copy_file_range(int fd_in, _Inout_ int64_t *off_in, int fd_out, _Inout_ int64_t *off_out, size_t len, unsigned int flags)',
        ) as CopyFileRange,
        lseek: library.func('int64_t lseek(int fd, int64_t offset, int whence)') as Lseek,
        fcntl: library.func('int fcntl(int fd, int cmd, ...)') as Fcntl,
        errno: () => koffi.errno(),
      };
    } catch {
      calls = null;
    }
  }
  return calls;
}

/** fallocate(2) on an open file; false where the call or the filesystem does not offer it (the caller then does without). */
export function fallocate(fd: number, mode: number, offset: number, length: number): boolean {
  const call = libc();
  return call !== null && call!.fallocate(fd, mode, offset, length) === 0;
}

/**
 * copy_file_range(2): copies up to `length` bytes from `inOffset` of one open file to `outOffset` of another
 * in the kernel (a reflink where the filesystem shares extents). `copied` stops short at the source's end,
 * or where the call failed (`failed`: no libc, two filesystems, an old kernel…; the caller copies the rest).
 */
export function copyFileRange(
  inFd: number,
  inOffset: number,
  outFd: number,
  outOffset: number,
  length: number,
): { copied: number; failed: boolean } {
  const call = libc();
  if (!call) return { copied: 0, failed: true };
  let copied = 0;
  while (copied < length) {
    const done = call.copyFileRange(inFd, [inOffset + copied], outFd, [outOffset + copied], length - copied, 0);
    if (done < 0) return { copied, failed: true };
    if (done === 0) break;
    copied += done;
  }
  return { copied, failed: false };
}

/**
 * The runs of [start, end) of an open file that hold data, found with lseek SEEK_DATA/SEEK_HOLE: what lies
 * between them is a hole. Undefined where holes cannot be found (the caller then treats it all as data).
 */
export function dataRuns(fd: number, start: number, end: number): Array<[number, number]> | undefined {
  const call = libc();
  if (!call) return undefined;
  const runs: Array<[number, number]> = [];
  for (let position = start; position < end;) {
    const data = call.lseek(fd, position, SEEK_DATA);
    if (data < 0) {
      if (call.errno() === ENXIO) break;
      return undefined;
    }
    if (data >= end) break;
    const hole = call.lseek(fd, data, SEEK_HOLE);
    if (hole < 0) return undefined;
    runs.push([data, Math.min(hole, end)]);
    position = hole;
  }
  return runs;
}

/** Sets a pipe's capacity (fcntl F_SETPIPE_SZ; the kernel rounds it up to a power of two pages); false where it cannot. */
export function setPipeSize(fd: number, bytes: number): boolean {
  const call = libc();
  return call !== null && call!.fcntl(fd, F_SETPIPE_SZ, 'int', bytes) >= 0;
}
