import path from 'node:path';
import {
  displayPath,
  isBinaryPath,
  pathBytes,
  type Manifest,
  type Snapshot,
  type SnapshotRequest,
  parentUnfit,
  settingUnusable,
  sourceFailed,
} from '@rast-backup/core';
import { removeExcluded } from './ExcludedPaths.js';
import { SnapshotStore } from './SnapshotStore.js';
import { notRoot } from './BtrfsCommand.js';
import { lockSource } from './SourceLock.js';
import { filesystemOf, isOnBtrfs, subvolumeInfo, subvolumeRootOf, type SubvolumeInfo } from './Subvolume.js';

export interface BtrfsSourceOptions {
  snapshotDirectory?: string;
}

/** What the manifest records under `source.btrfs`. */
export interface BtrfsFacts {
  filesystem: string;
  subvolume: string;
  subvolumeUuid: string;
  snapshotUuid: string;
  parentSnapshotUuid: string | null;
  /** Path inside the subvolume that was backed up (`.` for the whole subvolume). */
  subtree: string;
  sendProtocol?: number;
}

export function btrfsFacts(manifest: Manifest): BtrfsFacts | undefined {
  return manifest.source.btrfs as BtrfsFacts | undefined;
}

/**
 * Snapshots a path on btrfs: a read-only snapshot of its subvolume, atomic. The whole subvolume is sent
 * with `btrfs send`; a path below a subvolume's root is served from the snapshot as a tar tree. Exclude
 * patterns are applied to the snapshot itself (see removeExcluded), so the format has none left to apply.
 */
export async function btrfsSnapshot(request: SnapshotRequest, options: BtrfsSourceOptions): Promise<Snapshot | undefined> {
  if (!(await isOnBtrfs(pathBytes(request.path)))) return undefined;
  if (process.getuid?.() !== 0) throw notRoot(`backing up ${displayPath(request.path)}`);
  const subvolume = await subvolumeRootOf(request.path);
  if (isBinaryPath(subvolume)) {
    // A subtree below it may have such a name (it is read as a tar tree), the subvolume itself may not.
    const shown = displayPath(subvolume);
    throw sourceFailed(
      `subvolume ${shown}`,
      'its path is not UTF-8, which the btrfs tools cannot be given: rename it, or set [btrfs] enabled = false to back it up as a plain directory',
      { path: shown },
    );
  }
  const subtree = path.relative(subvolume, request.path) || '.';
  const finding = filesystemOf(subvolume);
  // The store's mount is made while the subvolume is looked up and locked: `btrfs send` starts that much sooner.
  const opening = finding.then((filesystem) => SnapshotStore.open(filesystem, options.snapshotDirectory));
  opening.catch(() => {}); // handled below
  let info: SubvolumeInfo;
  let unlock: () => Promise<void>;
  try {
    info = await subvolumeInfo(subvolume);
    unlock = await lockSource(info.uuid, displayPath(request.path));
  } catch (error) {
    await opening.then(
      (store) => store.close(),
      () => {},
    );
    throw error;
  }
  let store: SnapshotStore | undefined;
  try {
    store = await opening;
    const filesystem = await finding;
    if (store.isInside(subvolume)) {
      throw settingUnusable(
        `[btrfs] snapshot_dir ${store.directory}`,
        'btrfs.snapshot_dir',
        `it is inside the backed-up subvolume ${subvolume}: snapshots would change the source; choose a directory outside it`,
      );
    }
    const sendable = subtree === '.';
    let parentPath: string | undefined;
    const parentFacts = request.parent ? btrfsFacts(request.parent) : undefined;
    if (request.parent && sendable) {
      if (!parentFacts || parentFacts.subtree !== '.') {
        throw parentUnfit(request.parent.id, `is not a btrfs-send backup of ${request.path}: make a full backup (omit --parent)`);
      }
      parentPath = await store.find(parentFacts.subvolumeUuid, request.parent.id, parentFacts.snapshotUuid);
      if (!parentPath) {
        throw parentUnfit(
          request.parent.id,
          `cannot be built on: its local snapshot no longer exists in ${store.directory}, so btrfs send cannot make an incremental stream against it: make a full backup (omit --parent)`,
        );
      }
    }
    // `btrfs send` cannot skip paths: what the patterns match is removed from a writable snapshot, made read-only
    // after. A later incremental is sent against such a snapshot, which lacks the same paths.
    const { exclusion } = request;
    const prune = exclusion.empty
      ? undefined
      : (snapshotRoot: string) => removeExcluded(sendable ? snapshotRoot : path.join(snapshotRoot, subtree), exclusion);
    const snapshotPath = await store.create(subvolume, info.uuid, request.repository, request.backupId, prune);
    const snapshotInfo = await subvolumeInfo(snapshotPath);
    const facts: BtrfsFacts = {
      filesystem: filesystem.uuid,
      subvolume: info.relativePath,
      subvolumeUuid: info.uuid,
      snapshotUuid: snapshotInfo.uuid,
      parentSnapshotUuid: parentPath ? parentFacts!.snapshotUuid : null,
      subtree,
    };
    const openStore = store;
    const snapshot: Snapshot = {
      path: sendable ? snapshotPath : path.join(snapshotPath, subtree),
      source: request.path,
      kind: 'btrfs',
      format: sendable ? 'btrfs-send' : 'tar',
      atomic: true,
      exclude: request.exclude,
      details: { btrfs: facts },
      parentView: parentPath,
      async release(outcome) {
        try {
          if (outcome === 'committed' && sendable) {
            // Keep only the snapshot of this repository's latest committed backup of this source: its next
            // incremental needs it. Other repositories' snapshots are theirs. A parent snapshot in the layout of
            // older versions served this repository: it goes too.
            for (const kept of await openStore.list(info.uuid, request.repository)) {
              if (kept !== snapshotPath) await openStore.remove(kept);
            }
            if (parentPath && openStore.isUnassigned(parentPath)) await openStore.remove(parentPath);
          } else {
            await openStore.remove(snapshotPath);
          }
        } finally {
          await openStore.close();
          await unlock();
        }
      },
    };
    return snapshot;
  } catch (error) {
    await store?.close();
    await unlock();
    throw error;
  }
}
