/**
 * The order of a file index: the root `.` first, then paths compared name by name (UTF-16 code units of each
 * index path name), so that a directory is followed by its whole subtree, then by its next sibling. It is the
 * order of a depth-first walk that lists each directory's names sorted.
 */
export function comparePaths(a: string, b: string): number {
  if (a === b) return 0;
  if (a === '.') return -1;
  if (b === '.') return 1;
  const length = Math.min(a.length, b.length);
  for (let at = 0; at < length; at++) {
    const x = a.charCodeAt(at);
    const y = b.charCodeAt(at);
    if (x !== y) return x === 0x2f ? -1 : y === 0x2f ? 1 : x - y;
  }
  return a.length - b.length;
}

/** Compares two names of one directory in index order. */
export const compareNames = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Whether `path` is `directory` or lies below it (`.` holds everything). */
export function isWithin(path: string, directory: string): boolean {
  return directory === '.' || path === directory || (path.startsWith(directory) && path.charCodeAt(directory.length) === 0x2f);
}
