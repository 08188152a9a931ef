import { endianness } from 'node:os';
import type { EntryStats } from './EntryStats.js';

/** The lstat fields of an entry, in their order in a column of stats. */
const FIELDS = ['dev', 'ino', 'mode', 'nlink', 'uid', 'gid', 'rdev', 'size', 'blocks', 'mtimeNs', 'ctimeNs'] as const;
const WIDTH = FIELDS.length;
export type StatsField = (typeof FIELDS)[number];
const PLACES = new Map<StatsField, number>(FIELDS.map((field, place) => [field, place]));
/** The place of a 64-bit field's low 32 bits among its two 32-bit words. */
const LOW = endianness() === 'LE' ? 0 : 1;
const TWO_32 = 2 ** 32;

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

/** A column's views: its fields as unsigned (all but the times: an inode number may have its top bit set), and as 32-bit words. */
export interface ColumnViews {
  unsigned: BigUint64Array;
  signed: BigInt64Array;
  words: Uint32Array;
}

export const columnViews = (column: BigInt64Array): ColumnViews => ({
  unsigned: new BigUint64Array(column.buffer, column.byteOffset, column.length),
  signed: column,
  words: new Uint32Array(column.buffer, column.byteOffset, column.length * 2),
});

/**
 * Field `field` of `stats` as two unsigned 32-bit halves (a negative time's two's complement): read from its column's
 * words without making a BigInt, when it has a column.
 */
export function highHalf(stats: EntryStats, field: StatsField): number {
  if (stats instanceof ColumnStats) return stats.word(field, 1 - LOW);
  return Number(BigInt.asUintN(64, stats[field]) / BigInt(TWO_32));
}

export function lowHalf(stats: EntryStats, field: StatsField): number {
  if (stats instanceof ColumnStats) return stats.word(field, LOW);
  return Number(BigInt.asUintN(64, stats[field]) % BigInt(TWO_32));
}

/** The stats of entry `at` of a column (see columnViews), read from it when asked. */
export class ColumnStats implements EntryStats {
  private readonly base: number;
  private readonly column: BigUint64Array;
  private readonly times: BigInt64Array;

  constructor(
    private readonly views: ColumnViews,
    at: number,
  ) {
    this.base = at * WIDTH;
    this.column = views.unsigned;
    this.times = views.signed;
  }

  /** Word `half` (0 or 1, in memory order) of field `field`. */
  word(field: StatsField, half: number): number {
    return this.views.words[(this.base + PLACES.get(field)!) * 2 + half]!;
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
