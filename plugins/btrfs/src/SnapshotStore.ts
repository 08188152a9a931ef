import { readdir, rmdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { BACKUP_ID_PATTERN, makeDirectories, processAlive, settingUnusable, type OccupiedPath } from '@rast-backup/core';
import { runTool } from './BtrfsCommand.js';
import { isMountPoint } from './Mounts.js';
import { filesystemOf, isOnBtrfs, subvolumeInfo } from './Subvolume.js';

const MOUNT_ROOT = '/run/rast-backup/btrfs';

/** The directories snapshots live in, with `snapshot_dir` configured or not: no restore may write there. */
export function snapshotPlaces(configured: string | undefined): OccupiedPath[] {
  return [
    { path: MOUNT_ROOT, what: 'the mounts of btrfs top-level subvolumes' },
    ...(configured ? [{ path: configured, what: 'btrfs snapshots ([btrfs] snapshot_dir)' }] : []),
  ];
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
 * Where read-only snapshots live: `<directory>/<source subvolume uuid>/<repository id>/<backup id>` (versions
 * before repository ids kept `<directory>/<source subvolume uuid>/<backup id>`; those are still found). By default the
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
        throw settingUnusable(
          `[btrfs] snapshot_dir ${configured}`,
          'btrfs.snapshot_dir',
          `the snapshot directory is on another filesystem than the source (${filesystem.device}); it must be on the same btrfs filesystem`,
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
      await runTool(
        'mount',
        ['-t', 'btrfs', '-o', 'subvolid=5,noatime,private', filesystem.device, mountPoint],
        `mounting the top level of ${filesystem.device} at ${mountPoint}`,
      );
    }
    const directory = path.join(mountPoint, '.rast-backup', 'snapshots');
    await makeDirectories(directory, 0o700);
    return new SnapshotStore(directory, mountPoint);
  }

  /** Path of the snapshot of `sourceUuid` made for `backupId` in `repository`. */
  pathOf(sourceUuid: string, repository: string, backupId: string): string {
    return path.join(this.directory, sourceUuid, repository, backupId);
  }

  /**
   * A read-only snapshot of `subvolume`. With `prepare`, the snapshot is made writable, given to `prepare` (which
   * removes what must not be sent), then made read-only; if `prepare` fails, the snapshot is removed.
   */
  async create(
    subvolume: string,
    sourceUuid: string,
    repository: string,
    backupId: string,
    prepare?: (snapshot: string) => Promise<void>,
  ): Promise<string> {
    const target = this.pathOf(sourceUuid, repository, backupId);
    await makeDirectories(path.dirname(target), 0o700);
    await runTool('btrfs', ['subvolume', 'snapshot', ...(prepare ? [] : ['-r']), subvolume, target], `snapshot of ${subvolume}`);
    if (!prepare) return target;
    try {
      await prepare(target);
      // Setting the flag commits the transaction: `btrfs send` then sees the snapshot as prepared.
      await runTool('btrfs', ['property', 'set', '-ts', target, 'ro', 'true'], `making snapshot ${target} read-only`);
    } catch (error) {
      await this.remove(target).catch(() => {});
      throw error;
    }
    return target;
  }

  /** Where the snapshot made for `backupId` is, whichever repository it was made for (backup ids are unique), or undefined. */
  async locate(sourceUuid: string, backupId: string): Promise<string | undefined> {
    const names = await readdir(path.join(this.directory, sourceUuid)).catch(() => [] as string[]);
    const candidates = names.map((name) =>
      name === backupId
        ? path.join(this.directory, sourceUuid, name)
        : BACKUP_ID_PATTERN.test(name)
          ? undefined
          : this.pathOf(sourceUuid, name, backupId),
    );
    for (const candidate of candidates) {
      if (
        candidate &&
        (await stat(candidate).then(
          () => true,
          () => false,
        ))
      )
        return candidate;
    }
    return undefined;
  }

  /** The snapshot made for `backupId`, if it still exists and is the one recorded (same UUID). */
  async find(sourceUuid: string, backupId: string, uuid: string): Promise<string | undefined> {
    const candidate = await this.locate(sourceUuid, backupId);
    if (!candidate) return undefined;
    const info = await subvolumeInfo(candidate);
    return info.uuid === uuid ? candidate : undefined;
  }

  /** Snapshots of this source kept for `repository`: their paths. */
  async list(sourceUuid: string, repository: string): Promise<string[]> {
    const directory = path.join(this.directory, sourceUuid, repository);
    return (await readdir(directory).catch(() => [] as string[])).map((name) => path.join(directory, name));
  }

  /** Whether a snapshot path is in the layout of versions before repository ids (kept for whichever repository made the latest backup). */
  isUnassigned(snapshot: string): boolean {
    return BACKUP_ID_PATTERN.test(path.basename(snapshot)) && path.dirname(path.dirname(snapshot)) === this.directory;
  }

  /** Deletes a snapshot (a path from create, locate or list), then the directories it leaves empty. */
  async remove(snapshot: string): Promise<void> {
    if (
      !(await stat(snapshot).then(
        () => true,
        () => false,
      ))
    )
      return;
    await runTool('btrfs', ['subvolume', 'delete', '--commit-after', snapshot], `deleting snapshot ${snapshot}`);
    for (
      let directory = path.dirname(snapshot);
      directory !== this.directory && directory.startsWith(this.directory);
      directory = path.dirname(directory)
    ) {
      if (
        !(await rmdir(directory).then(
          () => true,
          () => false,
        ))
      )
        break;
    }
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
