/** Types of the `bloomfilter` package (it ships none): what BlockNames uses. */
declare module 'bloomfilter' {
  export class BloomFilter {
    constructor(bits: number | ArrayLike<number>, k: number);
    readonly m: number;
    readonly k: number;
    readonly buckets: Uint32Array;
    add(value: string): void;
    test(value: string): boolean;
    static withTargetError(n: number, error: number): BloomFilter;
  }
}
