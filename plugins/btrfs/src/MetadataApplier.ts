import { chmodSync, lchownSync, lutimesSync, utimesSync } from 'node:fs';
import { extendedAttributes } from '@rast-backup/restore-kit';
import { show, type ReceiveNode, type Time } from './ReceiveTree.js';
import type { SkipList } from './SkipList.js';
import { xattrReason } from './XattrError.js';

const CAPABILITY = 'security.capability';

/** Seconds for utimes(): whole microseconds plus half of one, so that the double rounds to that microsecond. */
function seconds(value: Time): number {
  return (value.seconds * 1e6 + Math.floor(value.nanoseconds / 1000) + 0.5) / 1e6;
}

/** Where the applier finds the received tree's entries on disk. */
export interface ReceivedPaths {
  /** The absolute path of an entry, from its path relative to the destination. */
  absolute(relative: Buffer): Buffer;
  /** Runs `action` with a text path to the node (the xattr binding takes no bytes). */
  withTextPath(node: ReceiveNode, relative: Buffer, action: (target: string) => void): void;
}

/**
 * Owners, modes, file capabilities and times of a received tree, in one pass once every stream is in: after
 * all data, so that nothing seeks back to a file between its writes, and in the kernel's order per entry
 * (owner, then mode, since chown clears setuid; then `security.capability`, which chown and writes clear; then
 * times), each directory after its contents. What the filesystem refuses (owners on a root-squashed NFS,
 * modes on vfat…) is reported in `skipped`, not fatal.
 */
export class MetadataApplier {
  /** Entries whose owner is not the restoring user's, left so because setting owners needs root. */
  ownersNotSet = 0;
  /** Entries visited, each name of a hard-linked file counted. */
  entries = 0;
  private readonly uid = process.getuid?.() ?? 0;
  private readonly gid = process.getgid?.() ?? 0;
  private readonly done = new Set<ReceiveNode>();

  constructor(
    private readonly paths: ReceivedPaths,
    private readonly skipped: SkipList,
    private readonly isRoot: boolean,
  ) {}

  apply(root: ReceiveNode): void {
    this.visit(root, Buffer.alloc(0));
  }

  private visit(node: ReceiveNode, relative: Buffer): void {
    this.entries += 1;
    if (this.done.has(node)) return;
    this.done.add(node);
    if (node.children) {
      for (const [name, child] of node.children) {
        const bytes = Buffer.from(name, 'latin1');
        this.visit(child, relative.length ? Buffer.concat([relative, Buffer.from('/'), bytes]) : bytes);
      }
    }
    if (!node.absent) this.applyTo(node, relative);
  }

  private applyTo(node: ReceiveNode, relative: Buffer): void {
    const absolute = this.paths.absolute(relative);
    const shown = relative.length ? show(relative) : '(the root)';
    const refusable = (what: string, action: () => void) => {
      try {
        action();
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'EPERM' && code !== 'EINVAL' && code !== 'EOPNOTSUPP' && code !== 'EACCES') throw error;
        this.skipped.add(`${what} (${code})`, shown);
      }
    };
    if (this.isRoot) refusable('owners', () => lchownSync(absolute, node.uid, node.gid));
    else if (node.uid !== this.uid || node.gid !== this.gid) this.ownersNotSet += 1;
    if (node.kind !== 'symlink') refusable('permissions', () => chmodSync(absolute, node.mode));
    if (node.capability) {
      try {
        this.paths.withTextPath(node, relative, (target) => extendedAttributes().setAttributeSync(target, CAPABILITY, node.capability!));
      } catch (error) {
        this.skipped.add(`file capabilities (${xattrReason(error)})`, shown);
      }
    }
    if (node.mtime) {
      const access = seconds(node.atime ?? node.mtime);
      refusable('times', () => (node.kind === 'symlink' ? lutimesSync : utimesSync)(absolute, access, seconds(node.mtime!)));
    }
  }
}
