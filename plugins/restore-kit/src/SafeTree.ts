import { constants } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { link, lstat, mkdir, open, symlink, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { displayPath, isBinaryPath, pathBytes, restoreUnsafe, type RastError } from '@rast-backup/core';
import { withTextPath } from './TextPath.js';

/**
 * Creates entries inside a destination that restore started empty. Every parent must be a directory this
 * tree made itself, so nothing is ever written through a symlink or outside the destination.
 */
export class SafeTree {
  private readonly directories = new Set<string>(['.']);

  constructor(readonly root: string) {}

  /** The exact bytes of an index path's place in the destination (names need not be UTF-8). */
  absolute(relative: string): Buffer {
    return relative === '.' ? Buffer.from(this.root) : Buffer.concat([Buffer.from(path.join(this.root, '/')), pathBytes(relative)]);
  }

  /** Makes sure every ancestor of `relative` is a directory this tree made. */
  async prepareParent(relative: string): Promise<void> {
    const parent = path.posix.dirname(relative);
    if (this.directories.has(parent)) return;
    await this.directory(parent);
  }

  async directory(relative: string): Promise<void> {
    if (this.directories.has(relative)) return;
    await this.prepareParent(relative);
    try {
      await mkdir(this.absolute(relative), { mode: 0o700 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const stats = await lstat(this.absolute(relative));
      if (!stats.isDirectory()) throw this.unsafe(relative, 'exists and is not a directory');
    }
    this.directories.add(relative);
  }

  /** A new file, open for reading too: a format may copy a range of it within itself (a btrfs clone). */
  async createFile(relative: string): Promise<FileHandle> {
    await this.prepareParent(relative);
    return this.exclusive(relative, () =>
      open(this.absolute(relative), constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600),
    );
  }

  async symlink(target: string, relative: string): Promise<void> {
    await this.prepareParent(relative);
    await this.exclusive(relative, () => symlink(pathBytes(target), this.absolute(relative)));
  }

  /**
   * Makes a fifo, device or socket with `create`, which gets text paths (for commands): its parent directory
   * and its name. A name that is not UTF-8 is made under a temporary ASCII name, then linked into place.
   */
  async special(relative: string, create: (directory: string, name: string) => Promise<void>): Promise<void> {
    await this.prepareParent(relative);
    const parent = this.absolute(path.posix.dirname(relative));
    const name = path.posix.basename(relative);
    await withTextPath(parent, async (directory) => {
      if (!isBinaryPath(name)) return create(directory, name);
      const temporary = `.rast-special-${randomBytes(6).toString('hex')}`;
      await create(directory, temporary);
      const made = Buffer.concat([parent, Buffer.from(`/${temporary}`)]);
      try {
        await this.exclusive(relative, () => link(made, this.absolute(relative)));
      } finally {
        await unlink(made);
      }
    });
  }

  /** Creates something that must not exist yet: a second entry at one path is a damaged or hostile backup. */
  private async exclusive<T>(relative: string, create: () => Promise<T>): Promise<T> {
    try {
      return await create();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST' || (error as NodeJS.ErrnoException).code === 'ELOOP')
        throw this.unsafe(relative, 'already exists: the backup lists it twice, or as a directory too');
      throw error;
    }
  }

  async hardlink(existing: string, relative: string): Promise<void> {
    await this.prepareParent(relative);
    const stats = await lstat(this.absolute(existing));
    if (!stats.isFile()) throw this.unsafe(relative, `links to ${displayPath(existing)}, which is not a regular file`);
    await this.exclusive(relative, () => link(this.absolute(existing), this.absolute(relative)));
  }

  private unsafe(relative: string, reason: string): RastError {
    return restoreUnsafe(undefined, displayPath(relative), `it ${reason}`);
  }
}
