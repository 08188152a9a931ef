import { realpath } from 'node:fs/promises';
import { displayPath, indexPath, pathBytes, sourceUnusable, type Snapshot, type SnapshotRequest } from '@rast-backup/core';
import { pseudoFilesystem } from './PseudoFilesystem.js';

/**
 * The catch-all source: the directory itself, read live. Not atomic: files that change while they are
 * read are stored as read (the manifest records `atomic: false`). A pseudo filesystem (/proc, /sys) is refused.
 */
export async function directorySnapshot(request: SnapshotRequest): Promise<Snapshot> {
  const resolved = await realpath(pathBytes(request.path), { encoding: 'buffer' });
  const pseudo = await pseudoFilesystem(resolved);
  if (pseudo) {
    const shown = displayPath(request.path);
    throw sourceUnusable(shown, `is on a ${pseudo} filesystem, which the kernel makes up: there are no files to back up there`);
  }
  return {
    path: indexPath(resolved),
    source: request.path,
    kind: 'directory',
    format: 'tar',
    atomic: false,
    exclude: request.exclude,
    exclusion: request.exclusion,
    release: async () => {},
  };
}
