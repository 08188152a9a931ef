import { lstat, statfs } from 'node:fs/promises';
import path from 'node:path';
import { pathBytes } from '@rast-backup/core';
import { runTool } from './BtrfsCommand.js';
import { btrfsUuidOf, mountOf } from './Mounts.js';

const BTRFS_SUPER_MAGIC = 0x9123683e;
/** The inode number of every btrfs subvolume's root directory. */
const SUBVOLUME_ROOT_INODE = 256n;

export async function isOnBtrfs(target: string | Buffer): Promise<boolean> {
  return (await statfs(target)).type === BTRFS_SUPER_MAGIC;
}

/** The root of the subvolume holding `target` (the path itself when it is a subvolume root); index paths (see IndexPath). */
export async function subvolumeRootOf(target: string): Promise<string> {
  let current = target;
  const device = (await lstat(pathBytes(current), { bigint: true })).dev;
  for (;;) {
    const stats = await lstat(pathBytes(current), { bigint: true });
    if (stats.dev === device && stats.ino === SUBVOLUME_ROOT_INODE) return current;
    const parent = path.dirname(current);
    if (parent === current) return current;
    current = parent;
  }
}

export interface SubvolumeInfo {
  /** Path relative to the filesystem's top-level subvolume (`<FS_TREE>` for the top level itself). */
  relativePath: string;
  uuid: string;
  parentUuid: string | null;
  receivedUuid: string | null;
  id: number;
  readOnly: boolean;
}

export async function subvolumeInfo(subvolume: string): Promise<SubvolumeInfo> {
  const text = await runTool('btrfs', ['subvolume', 'show', subvolume], `btrfs subvolume show ${subvolume}`);
  const field = (name: string) => new RegExp(`^\\s*${name}:\\s*(.*)$`, 'm').exec(text)?.[1]?.trim() ?? '';
  const orNull = (value: string) => (value === '-' || value === '' ? null : value);
  return {
    relativePath: text.split('\n')[0]!.trim(),
    uuid: field('UUID'),
    parentUuid: orNull(field('Parent UUID')),
    receivedUuid: orNull(field('Received UUID')),
    id: Number(field('Subvolume ID')),
    readOnly: /readonly/.test(field('Flags')),
  };
}

/** The block device and UUID of the btrfs filesystem holding `target`: from /proc and /sys, else from `findmnt`. */
export async function filesystemOf(target: string): Promise<{ device: string; uuid: string }> {
  const mount = await mountOf(target);
  const uuid = mount && (await btrfsUuidOf(mount.source));
  if (mount && uuid) return { device: mount.source, uuid };
  const [device = '', found = ''] = (
    await runTool('findmnt', ['-n', '-o', 'SOURCE,UUID', '--nofsroot', '--target', target], `findmnt ${target}`)
  )
    .trim()
    .split(/\s+/);
  return { device, uuid: found };
}
