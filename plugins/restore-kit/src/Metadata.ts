import { chmod, lchown, lutimes, utimes } from 'node:fs/promises';
import { displayPath, type IndexEntry } from '@rast-backup/core';
import { extendedAttributes } from './ExtendedAttributes.js';
import { withTextPath } from './TextPath.js';

/** Seconds for utimes(): whole microseconds plus half of one, so rounding keeps the microsecond. */
function seconds(nanoseconds: string): number {
  const micro = BigInt(nanoseconds) / 1000n;
  return (Number(micro) + 0.5) / 1e6;
}

/** Whether a restore by a user other than root leaves this entry with another owner than the backup's. */
export function ownerNotSet(entry: IndexEntry, isRoot: boolean): boolean {
  return !isRoot && (entry.uid !== process.getuid!() || entry.gid !== process.getgid!());
}

/** Whether an xattr of the index is to be set at the destination (a format may leave some out by design). */
export type XattrFilter = (name: string) => boolean;

/**
 * Applies an entry's metadata in the kernel's order: owner (as root only), then mode (chown clears setuid),
 * then xattrs (those `restorable` keeps), then times. Returns what the destination could not hold.
 */
export async function applyMetadata(
  absolute: Buffer,
  entry: IndexEntry,
  isRoot: boolean,
  restorable: XattrFilter = () => true,
): Promise<string[]> {
  const skipped: string[] = [];
  const isSymlink = entry.type === 'symlink';
  if (isRoot) await lchown(absolute, entry.uid, entry.gid);
  if (!isSymlink) await chmod(absolute, entry.mode);
  if (entry.xattrs && !isSymlink) {
    const xattrs = entry.xattrs;
    await withTextPath(
      absolute,
      async (text) => {
        for (const [name, value] of Object.entries(xattrs)) {
          if (!restorable(name)) continue;
          try {
            await extendedAttributes().setAttribute(text, name, Buffer.from(value, 'base64'));
          } catch (error) {
            skipped.push(`${displayPath(entry.path)}: xattr ${name} (${(error as Error).message})`);
          }
        }
      },
      { mayLink: true },
    );
  }
  const time = seconds(entry.mtime);
  if (isSymlink) await lutimes(absolute, time, time);
  else await utimes(absolute, time, time);
  return skipped;
}
