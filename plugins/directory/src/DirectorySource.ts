import { realpath } from 'node:fs/promises';
import type { Snapshot, SnapshotRequest } from '@rast-backup/core';

/**
 * The catch-all source: the directory itself, read live. Not atomic: files that change while they are
 * read are stored as read (the manifest records `atomic: false`).
 */
export async function directorySnapshot(request: SnapshotRequest): Promise<Snapshot> {
  const resolved = await realpath(request.path);
  return {
    path: resolved,
    source: request.path,
    kind: 'directory',
    format: 'tar',
    atomic: false,
    exclude: request.exclude,
    release: async () => {},
  };
}
