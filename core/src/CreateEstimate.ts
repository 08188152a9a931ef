import type { Manifest } from './Manifest.js';
import type { Runtime } from './Runtime.js';
import type { Format, Snapshot } from './types.js';

/**
 * A quick estimate of the plaintext bytes a create stores, for its progress; undefined when there is none.
 * An incremental: the size of the source's last incremental (what changes between two backups changes
 * slowly). A full backup: the format's estimate for the snapshot's tree (`Format.estimate`), else the source's
 * last full backup's size.
 */
export async function estimateCreate(
  runtime: Runtime,
  snapshot: Snapshot,
  format: Format,
  parent: Manifest | undefined,
  signal: AbortSignal,
): Promise<number | undefined> {
  const last = async (incremental: boolean) => {
    const entries = await runtime.repository.catalog.entries();
    for (let n = entries.length - 1; n >= 0; n--) {
      const { manifest } = entries[n]!;
      if (manifest.source.path === snapshot.source && (manifest.parent !== null) === incremental) return manifest.size;
    }
    return undefined;
  };
  if (parent) return last(true);
  return (await format.estimate?.(snapshot.path, signal)) ?? last(false);
}
