import { createRequire } from 'node:module';

type Koffi = typeof import('koffi').default;

/** A run of a file that holds data; what lies between runs (and after the last, up to the size) is a hole. */
export interface Segment {
  offset: number;
  length: number;
}

const SEEK_DATA = 3;
const SEEK_HOLE = 4;
const ENXIO = 6;

type Lseek = (fd: number, offset: number, whence: number) => number;
let lseek: Lseek | null | undefined;
/** Loaded with the first file read (a native library: every command would pay for it at start). */
let koffi: Koffi;

/** libc's lseek through koffi (Node's fs has no SEEK_DATA/SEEK_HOLE), or null where it cannot be reached. */
function libcLseek(): Lseek | null {
  if (lseek === undefined) {
    try {
      koffi = createRequire(import.meta.url)('koffi') as Koffi;
      lseek = koffi.load(null).func('int64_t lseek(int fd, int64_t offset, int whence)') as Lseek;
    } catch {
      lseek = null;
    }
  }
  return lseek;
}

/**
 * The data segments of the first `size` bytes of an open file, found with lseek SEEK_DATA/SEEK_HOLE; undefined
 * when it has no hole there (or holes cannot be found: then it is read whole, holes as zeros).
 */
export function dataSegments(fd: number, size: number): Segment[] | undefined {
  const seek = libcLseek();
  if (!seek || size === 0) return undefined;
  const segments: Segment[] = [];
  for (let position = 0; position < size;) {
    const data = seek(fd, position, SEEK_DATA);
    if (data < 0) {
      if (koffi.errno() === ENXIO) break;
      return undefined;
    }
    if (data >= size) break;
    const hole = seek(fd, data, SEEK_HOLE);
    if (hole < 0) return undefined;
    const end = Math.min(hole, size);
    segments.push({ offset: data, length: end - data });
    position = end;
  }
  if (segments.length === 1 && segments[0]!.offset === 0 && segments[0]!.length === size) return undefined;
  return segments;
}
