import type { Manifest } from '@rast-backup/core';
import { runTool } from './BtrfsCommand.js';
import { btrfsFacts } from './BtrfsSource.js';
import { SnapshotStore } from './SnapshotStore.js';

/** Opens the snapshot store of the filesystem a backup came from, if that filesystem is mounted here. */
async function storeOf(manifest: Manifest, configured: string | undefined): Promise<SnapshotStore | undefined> {
  const facts = btrfsFacts(manifest);
  if (!facts || facts.subtree !== '.' || process.getuid?.() !== 0) return undefined;
  const device = (
    await runTool('findmnt', ['-n', '-o', 'SOURCE', '--nofsroot', '--source', `UUID=${facts.filesystem}`], 'findmnt').catch(() => '')
  )
    .trim()
    .split('\n')[0];
  if (!device) return undefined;
  return SnapshotStore.open({ device, uuid: facts.filesystem }, configured);
}

/** Whether the backup's local snapshot (the base for the next incremental) still exists. */
export async function describeLocalSnapshot(manifest: Manifest, configured: string | undefined): Promise<string | undefined> {
  const facts = btrfsFacts(manifest);
  if (!facts || facts.subtree !== '.') return undefined;
  const store = await storeOf(manifest, configured);
  if (!store) return 'unknown (needs root and the filesystem mounted)';
  try {
    const found = await store.find(facts.subvolumeUuid, manifest.id, facts.snapshotUuid);
    return found
      ? `kept (${facts.snapshotUuid}): the next --parent ${manifest.id} can be incremental`
      : 'gone: an incremental on this backup is not possible';
  } finally {
    await store.close();
  }
}

/** Removes a deleted backup's local snapshot: no future incremental can use it. */
export async function removeLocalSnapshot(manifest: Manifest, configured: string | undefined): Promise<void> {
  const facts = btrfsFacts(manifest);
  const store = await storeOf(manifest, configured);
  if (!facts || !store) return;
  try {
    const snapshot = await store.locate(facts.subvolumeUuid, manifest.id);
    if (snapshot) await store.remove(snapshot);
  } finally {
    await store.close();
  }
}
