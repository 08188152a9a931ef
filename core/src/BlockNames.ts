import { BloomFilter } from 'bloomfilter';

/**
 * The names a block of a run holds, as its run header stores them: a Bloom filter (the `bloomfilter` package) of
 * the last segment of each record's path, `k` hashes over the bits, in base64 as little-endian 32-bit words.
 */
export interface StoredNames {
  k: number;
  bits: string;
}

/** The filter's false-positive rate: about 9.6 bits per distinct name. */
export const NAMES_ERROR = 0.01;

/** A path's last segment (the path itself at the top; `.` for the root). */
export function lastName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** The filter of the names of `paths`; `error` is the false-positive rate it is sized for. */
export function storeNames(paths: Iterable<string>, error = NAMES_ERROR): StoredNames {
  const names = new Set<string>();
  for (const path of paths) names.add(lastName(path));
  const filter = BloomFilter.withTargetError(Math.max(names.size, 1), error);
  for (const name of names) filter.add(name);
  const bits = Buffer.alloc(filter.buckets.length * 4);
  filter.buckets.forEach((word, at) => bits.writeUInt32LE(word, at * 4));
  return { k: filter.k, bits: bits.toString('base64') };
}

/** A stored filter, decoded: whether a block may hold a record of that name (false: surely not). */
export class BlockNames {
  private readonly filter: BloomFilter;

  constructor(stored: StoredNames) {
    const bits = Buffer.from(typeof stored?.bits === 'string' ? stored.bits : '', 'base64');
    if (bits.length === 0 || bits.length % 4 !== 0) throw new Error('its names filter is not a whole number of 32-bit words');
    const words = new Uint32Array(bits.length / 4);
    for (let at = 0; at < words.length; at++) words[at] = bits.readUInt32LE(at * 4);
    this.filter = new BloomFilter(words, stored.k);
  }

  mayHold(name: string): boolean {
    return this.filter.test(name);
  }
}
