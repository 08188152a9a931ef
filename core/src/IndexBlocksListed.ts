import type { Manifest } from './Manifest.js';
import { RepositoryKeys } from './RepositoryKeys.js';

/** Index blocks found in a sink's listing: their keys and stored sizes. */
export type ListedBlocks =
  | { blocks: Array<{ key: string; storedSize: number }> }
  | { problem: 'missing'; block: number; key: string }
  | { problem: 'size'; message: string };

/**
 * A backup's index blocks as a sink lists them, for a host that can read neither the index header (only a public
 * key) nor a kept copy of it. They must be numbered from 0 without a gap, and their sizes must add up to what the
 * manifest's storedSize leaves after its parts and index header: the sum is checked, not each block's size.
 */
export function indexBlocksListed(manifest: Manifest, listed: Iterable<[key: string, size: number]>): ListedBlocks {
  const expected = manifest.storedSize - [...manifest.parts, manifest.index].reduce((sum, part) => sum + part.storedSize, 0);
  const pattern = new RegExp(`^${RepositoryKeys.index(manifest.id)}\\.\\d{6}$`);
  const found = [...listed].filter(([key]) => pattern.test(key)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const gap = found.findIndex(([key], n) => key !== RepositoryKeys.indexBlock(manifest.id, n));
  if (gap >= 0) return { problem: 'missing', block: gap, key: RepositoryKeys.indexBlock(manifest.id, gap) };
  const total = found.reduce((sum, [, size]) => sum + size, 0);
  if (total !== expected)
    return {
      problem: 'size',
      message: `${found.length} listed, ${total} bytes, where the manifest's storedSize leaves ${expected} for them`,
    };
  return { blocks: found.map(([key, storedSize]) => ({ key, storedSize })) };
}
