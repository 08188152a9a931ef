import { createRequire } from 'node:module';

const POSIX_FADV_WILLNEED = 3;

type Fadvise = (fd: number, offset: number, length: number, advice: number) => number;
let fadvise: Fadvise | null | undefined;

/**
 * Asks the kernel to start reading the first `length` bytes of an open file into the page cache, without
 * waiting (posix_fadvise WILLNEED): hinted one after another, many files' reads are in flight at once, and
 * the read that follows finds the data there. Nothing happens where libc cannot be reached.
 */
export function willNeed(fd: number, length: number): void {
  if (fadvise === undefined) {
    try {
      // Loaded on first use: commands that read no directory tree never load it.
      const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
      fadvise = koffi.load(null).func('int posix_fadvise(int fd, int64_t offset, int64_t len, int advice)') as Fadvise;
    } catch {
      fadvise = null;
    }
  }
  fadvise?.(fd, 0, length, POSIX_FADV_WILLNEED);
}
