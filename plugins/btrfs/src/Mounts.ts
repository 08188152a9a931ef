import { readdir, readFile, realpath } from 'node:fs/promises';
import path from 'node:path';

export interface Mount {
  mountPoint: string;
  /** The mounted device (`/dev/loop0`), as the kernel names it. */
  source: string;
  type: string;
}

/** `\040`-style escapes of /proc/self/mountinfo (space, tab, newline, backslash) undone. */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** This process's mounts, in mount order (a later mount on the same point hides an earlier one). */
async function mounts(): Promise<Mount[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      // id parent major:minor root mount-point options [optional fields…] - type source super-options
      const [before, after = ''] = line.split(' - ');
      const [type = '', source = ''] = after.split(' ');
      return { mountPoint: unescape(before!.split(' ')[4] ?? ''), source: unescape(source), type };
    });
}

/** Whether `directory` is a mount point. */
export async function isMountPoint(directory: string): Promise<boolean> {
  const resolved = await realpath(directory).catch(() => path.resolve(directory));
  return (await mounts()).some((mount) => mount.mountPoint === resolved);
}

/** The mount that holds `target` (what `findmnt --target` reports): the innermost, and the latest of those on one point. */
export async function mountOf(target: string): Promise<Mount | undefined> {
  const resolved = await realpath(target);
  let found: Mount | undefined;
  for (const mount of await mounts()) {
    const inside = mount.mountPoint === '/' || resolved === mount.mountPoint || resolved.startsWith(`${mount.mountPoint}/`);
    if (inside && (!found || mount.mountPoint.length >= found.mountPoint.length)) found = mount;
  }
  return found;
}

/** The UUID of the mounted btrfs filesystem on `device`, from /sys/fs/btrfs/<uuid>/devices/, or undefined. */
export async function btrfsUuidOf(device: string): Promise<string | undefined> {
  const name = path.basename(await realpath(device).catch(() => device));
  for (const uuid of await readdir('/sys/fs/btrfs').catch(() => [] as string[])) {
    if ((await readdir(path.join('/sys/fs/btrfs', uuid, 'devices')).catch(() => [] as string[])).includes(name)) return uuid;
  }
  return undefined;
}
