import { readdir, rmdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, makeDirectories, processAlive, RastError, type OccupiedPath } from '@rast-backup/core';
import { runTool } from './BtrfsCommand.js';
import { isMountPoint } from './Mounts.js';
import { filesystemOf, isOnBtrfs, subvolumeInfo } from './Subvolume.js';

const MOUNT_ROOT = '/run/rast-backup/btrfs';

/** The directories snapshots live in, with `snapshot_dir` configured or not: no restore may write there. */
export function snapshotPlaces(configured: string | undefined): OccupiedPath[] {
  return [{ path: MOUNT_ROOT, what: 'the mounts of btrfs top-level subvolumes' }, ...(configured ? [{ path: configured, what: 'btrfs snapshots ([btrfs] snapshot_dir)' }] : [])];
}

/** Unmounts the top-level mounts of `uuid` left by processes that were killed (`<uuid>.<pid>`, pid gone). */
async function unmountStale(uuid: string): Promise<void> {
  for (const name of await readdir(MOUNT_ROOT).catch(() => [] as string[])) {
    const pid = name.startsWith(`${uuid}.`) ? Number(name.slice(uuid.length + 1)) : NaN;
    if (!Number.isInteger(pid) || pid === process.pid || processAlive(pid)) continue;
    const stale = path.join(MOUNT_ROOT, name);
    if (await isMountPoint(stale)) await runTool('umount', [stale], `unmounting ${stale}`).catch(() => '');
    await rmdir(stale).catch(() => {});
  }
}

/**
 * Where read-only snapshots live: `<directory>/<source subvolume uuid>/<backup id>`. By default the
 * directory is `.rast-backup/snapshots` in the filesystem's top-level subvolume, mounted at
 * /run/rast-backup/btrfs/<filesystem uuid>.<pid> for the time of the operation, so that no snapshot ever appears inside a backed-up
 * subvolume (not even when it is the mounted root, `/`).
 */
export class SnapshotStore {
  private constructor(
    readonly directory: string,
    private readonly mountPoint: string | null,
  ) {}

  static async open(filesystem: { device: string; uuid: string }, configured: string | undefined): Promise<SnapshotStore> {
    if (configured) {
      await makeDirectories(configured, 0o700);
      const holder = await filesystemOf(configured);
      if (!(await isOnBtrfs(configured)) || holder.uuid !== filesystem.uuid) {
        throw new RastError(
          ErrorCode.CONFIG_INVALID,
          `[btrfs] snapshot_dir ${configured}: the snapshot directory is on another filesystem than the source (${filesystem.device}); it must be on the same btrfs filesystem`,
          { key: 'btrfs.snapshot_dir' },
        );
      }
      return new SnapshotStore(configured, null);
    }
    // One mount per process: a mount shared by two creates was unmounted by the first to finish, under the other.
    await unmountStale(filesystem.uuid);
    const mountPoint = path.join(MOUNT_ROOT, `${filesystem.uuid}.${process.pid}`);
    await makeDirectories(mountPoint, 0o700);
    if (!(await isMountPoint(mountPoint))) {
      // private: the mount does not propagate into other mount namespaces (e.g. a systemd service's).
      await runTool('mount', ['-t', 'btrfs', '-o', 'subvolid=5,noatime,private', filesystem.device, mountPoint], `mounting the top level of ${filesystem.device} at ${mountPoint}`);
    }
    const directory = path.join(mountPoint, '.rast-backup', 'snapshots');
    await makeDirectories(directory, 0o700);
    return new SnapshotStore(directory, mountPoint);
  }

  /** Path of the snapshot of `sourceUuid` made for `backupId`. */
  pathOf(sourceUuid: string, backupId: string): string {
    return path.join(this.directory, sourceUuid, backupId);
  }

  async create(subvolume: string, sourceUuid: string, backupId: string): Promise<string> {
    const target = this.pathOf(sourceUuid, backupId);
    await makeDirectories(path.dirname(target), 0o700);
    await runTool('btrfs', ['subvolume', 'snapshot', '-r', subvolume, target], `snapshot of ${subvolume}`);
    return target;
  }

  /** The snapshot made for `backupId`, if it still exists and is the one recorded (same UUID). */
  async find(sourceUuid: string, backupId: string, uuid: string): Promise<string | undefined> {
    const candidate = this.pathOf(sourceUuid, backupId);
    try {
      await stat(candidate);
    } catch {
      return undefined;
    }
    const info = await subvolumeInfo(candidate);
    return info.uuid === uuid ? candidate : undefined;
  }

  /** Backup ids that have a snapshot of this source. */
  async list(sourceUuid: string): Promise<string[]> {
    return readdir(path.join(this.directory, sourceUuid)).catch(() => []);
  }

  async remove(sourceUuid: string, backupId: string): Promise<void> {
    const target = this.pathOf(sourceUuid, backupId);
    try {
      await stat(target);
    } catch {
      return;
    }
    await runTool('btrfs', ['subvolume', 'delete', '--commit-after', target], `deleting snapshot ${target}`);
    await rmdir(path.dirname(target)).catch(() => {});
  }

  async close(): Promise<void> {
    if (!this.mountPoint) return;
    await runTool('umount', [this.mountPoint], `unmounting ${this.mountPoint}`).catch(() => '');
    await rmdir(this.mountPoint).catch(() => {});
  }

  /** Whether the snapshot directory lies inside `subvolume` (then snapshots would change the source tree). */
  isInside(subvolume: string): boolean {
    const relative = path.relative(subvolume, this.directory);
    return !relative.startsWith('..') && !path.isAbsolute(relative);
  }
}

export function notRoot(what: string): RastError {
  return new RastError(ErrorCode.SOURCE_INVALID, `${what}: btrfs snapshots need root (CAP_SYS_ADMIN); run as root, or set [btrfs] enabled = false to back up paths as plain directories`);
}
