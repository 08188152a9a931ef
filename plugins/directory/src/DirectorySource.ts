import { realpath } from 'node:fs/promises';
import { displayPath, indexPath, pathBytes, sourceUnusable, type Snapshot, type SnapshotRequest } from '@rast-backup/core';
import { pseudoFilesystem } from './PseudoFilesystem.js';
import { dropStartedWalk, keepStartedWalk } from './StartedWalks.js';
import { startWalk } from './TreeWalker.js';

/**
 * The catch-all source: the directory itself, read live. Not atomic: files that change while they are
 * read are stored as read (the manifest records `atomic: false`). A pseudo filesystem (/proc, /sys) is refused.
 * Its walk starts here, reading ahead while the create loads the parent's index and its transforms (see StartedWalks).
 */
export async function directorySnapshot(request: SnapshotRequest, options: { oneFileSystem: boolean }): Promise<Snapshot> {
  const resolved = await realpath(pathBytes(request.path), { encoding: 'buffer' });
  const pseudo = await pseudoFilesystem(resolved);
  if (pseudo) {
    const shown = displayPath(request.path);
    throw sourceUnusable(shown, `is on a ${pseudo} filesystem, which the kernel makes up: there are no files to back up there`);
  }
  const snapshot: Snapshot = {
    path: indexPath(resolved),
    source: request.path,
    kind: 'directory',
    format: 'tar',
    atomic: false,
    exclude: request.exclude,
    exclusion: request.exclusion,
    release: () => dropStartedWalk(snapshot),
  };
  // A full backup reads every entry whole; an incremental reads only what its lstat shows changed (see serializeTree).
  const walk = startWalk(snapshot.path, {
    exclude: snapshot.exclude,
    exclusion: snapshot.exclusion,
    oneFileSystem: options.oneFileSystem,
    details: !request.parent,
  });
  keepStartedWalk(snapshot, walk);
  return snapshot;
}
