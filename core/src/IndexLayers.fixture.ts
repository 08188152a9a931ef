/** Index runs for tests: runs in small blocks, and random layers of changes over a tree. */
import type { BlockRecords } from './BlockRecords.js';
import type { IndexEntry } from './FileIndex.js';
import { comparePaths } from './IndexOrder.js';
import { decodeBlock, encodeBlock, releaseEncoded, type IndexRecord, type IndexRun } from './IndexRun.js';
import { seededRandom } from './testing.js';

/**
 * A run in blocks of a few records, encoded as stored runs are, so that reads cross blocks. A block released is
 * overwritten, as memory read into again would be: a reader that used it after would read garbage.
 */
export class BlockRun implements IndexRun {
  readonly firsts: string[];
  readonly records: number;
  private readonly blocks: IndexRecord[][] = [];
  readBlocks = 0;
  released = 0;
  constructor(
    readonly backupId: string,
    records: IndexRecord[],
  ) {
    for (let at = 0; at < records.length; at += 7) this.blocks.push(records.slice(at, at + 7));
    this.firsts = this.blocks.map((block) => block[0]!.path);
    this.records = records.length;
  }
  async readBlock(block: number): Promise<BlockRecords> {
    this.readBlocks++;
    const data = encodeBlock(this.blocks[block]!);
    return decodeBlock(data, undefined, () => {
      this.released++;
      data.fill('x');
    });
  }
  releaseBlock(records: BlockRecords): void {
    releaseEncoded(records);
  }
}

export const file = (path: string, from: string, size = 1): IndexEntry => ({
  path,
  type: 'file',
  size,
  mode: 0o644,
  uid: 0,
  gid: 0,
  mtime: '1',
  from,
});
export const directory = (path: string): IndexEntry => ({
  path,
  type: 'directory',
  size: 0,
  mode: 0o755,
  uid: 0,
  gid: 0,
  mtime: '1',
  from: 'base',
});

/** A tree of directories and files, then runs of random changes over it: each run's records in index order. */
export function layered(seed: number) {
  const random = seededRandom(seed);
  const tree = new Map<string, IndexEntry>([['.', directory('.')]]);
  for (let d = 0; d < 20; d++) {
    tree.set(`d${d}`, directory(`d${d}`));
    for (let f = 0; f < 30; f++) tree.set(`d${d}/f${f}`, file(`d${d}/f${f}`, 'base'));
  }
  const sorted = (records: Iterable<IndexRecord>) => [...records].sort((a, b) => comparePaths(a.path, b.path));
  const runs: BlockRun[] = [new BlockRun('base', sorted(tree.values()))];
  for (const id of ['one', 'two', 'three']) {
    const changes = new Map<string, IndexRecord>();
    for (let change = 0; change < 40; change++) {
      const path = `d${random.below(20)}/f${random.below(40)}`;
      const entry = tree.get(path);
      const roll = random.below(4);
      if (entry && roll === 0) {
        tree.delete(path);
        changes.set(path, { path, deleted: true });
      } else {
        const next = roll === 1 && entry ? { ...entry, mode: 0o600, from: id } : file(path, id, random.between(1, 3));
        tree.set(path, next);
        changes.set(path, next);
      }
    }
    runs.unshift(new BlockRun(id, sorted(changes.values())));
  }
  return runs;
}
