import type { EntryStats } from './EntryStats.js';

/** The lstat fields of an entry, in their order in a column of stats. */
const FIELDS = ['dev', 'ino', 'mode', 'nlink', 'uid', 'gid', 'rdev', 'size', 'blocks', 'mtimeNs', 'ctimeNs'] as const;
const WIDTH = FIELDS.length;

/**
 * The lstat results of a listing's entries as one typed array, which a thread transfers as it is: no object
 * per entry and BigInt per field to copy between threads, nor for the garbage collector to trace.
 */
export function statsColumn(stats: ReadonlyArray<EntryStats | undefined>): BigInt64Array {
  const column = new BigInt64Array(stats.length * WIDTH);
  stats.forEach((entry, at) => {
    if (!entry) return;
    const base = at * WIDTH;
    for (let field = 0; field < WIDTH; field++) column[base + field] = entry[FIELDS[field]!];
  });
  return column;
}

/** A column's fields as unsigned (all but the times: an inode number may have its top bit set). */
export const unsignedView = (column: BigInt64Array) => new BigUint64Array(column.buffer, column.byteOffset, column.length);

/** The stats of entry `at` of a column (and its unsignedView), read from it when asked. */
export class ColumnStats implements EntryStats {
  private readonly base: number;

  constructor(
    private readonly column: BigUint64Array,
    private readonly times: BigInt64Array,
    at: number,
  ) {
    this.base = at * WIDTH;
  }

  get dev(): bigint {
    return this.column[this.base]!;
  }
  get ino(): bigint {
    return this.column[this.base + 1]!;
  }
  get mode(): bigint {
    return this.column[this.base + 2]!;
  }
  get nlink(): bigint {
    return this.column[this.base + 3]!;
  }
  get uid(): bigint {
    return this.column[this.base + 4]!;
  }
  get gid(): bigint {
    return this.column[this.base + 5]!;
  }
  get rdev(): bigint {
    return this.column[this.base + 6]!;
  }
  get size(): bigint {
    return this.column[this.base + 7]!;
  }
  get blocks(): bigint {
    return this.column[this.base + 8]!;
  }
  get mtimeNs(): bigint {
    return this.times[this.base + 9]!;
  }
  get ctimeNs(): bigint {
    return this.times[this.base + 10]!;
  }
}
