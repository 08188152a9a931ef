import { createHash } from 'node:crypto';
import { displayPath, streamDamaged, type VerifyContext } from '@rast-backup/core';
import { checkIndex } from '@rast-backup/restore-kit';
import { tarEntries } from './TarEntries.js';

const TAR_TYPES: Record<string, string> = {
  file: 'file',
  directory: 'directory',
  symlink: 'symlink',
  hardlink: 'link',
  fifo: 'fifo',
  'char-device': 'character-device',
  'block-device': 'block-device',
};

/** An order-free sum of paths: 128 bits of each path's MD5, added lane by lane (a multiset stays a multiset). */
class PathSum {
  private readonly lanes = new BigUint64Array(2);
  add(path: string): void {
    const digest = createHash('md5').update(path).digest();
    this.lanes[0]! += digest.readBigUInt64LE(0);
    this.lanes[1]! += digest.readBigUInt64LE(8);
  }
  equals(other: PathSum): boolean {
    return this.lanes[0] === other.lanes[0] && this.lanes[1] === other.lanes[1];
  }
}

/**
 * Checks the index describes a restorable tree, then reads the whole tar stream (header checksums, sizes) and
 * checks it holds exactly what the index says this backup holds: each stream entry is looked up in the index
 * (the stream need not be in index order), and the paths on both sides are counted and summed, so that
 * nothing is kept per entry.
 */
export async function verifyTree(context: VerifyContext): Promise<void> {
  const { manifest, index } = context;
  const damaged = (message: string) => streamDamaged(manifest.id, `${message}`);
  const expected = new PathSum();
  let expectedCount = 0;
  // A full backup holds all its data; an incremental's chain is checked by restore.
  await checkIndex(index, manifest.id, manifest.parent === null ? new Set([manifest.id]) : undefined, (entry) => {
    if (entry.from !== manifest.id) return;
    expected.add(entry.path);
    expectedCount++;
  });
  const found = new PathSum();
  let foundCount = 0;
  for await (const { path: indexed, header, size: fileSize, data } of tarEntries(context.stream, manifest.id)) {
    const entry = await index.get(indexed);
    const path = displayPath(indexed);
    if (!entry || entry.from !== manifest.id) throw damaged(`the stream holds ${path}, which its index does not list`);
    found.add(indexed);
    foundCount++;
    if (TAR_TYPES[entry.type] !== header.type) throw damaged(`${path} is a ${header.type} in the stream, a ${entry.type} in the index`);
    // Reading the data checks a sparse file's map against what its entry stores.
    for await (const _ of data()) void _;
    if (fileSize !== entry.size) throw damaged(`${path} holds ${fileSize} bytes in the stream, ${entry.size} in the index`);
  }
  if (foundCount < expectedCount) throw damaged(`the stream lacks ${expectedCount - foundCount} entries its index lists`);
  if (foundCount > expectedCount) throw damaged(`the stream holds ${foundCount - expectedCount} entries more than once`);
  if (!found.equals(expected)) throw damaged('the stream holds an entry more than once, in place of one its index lists');
}
