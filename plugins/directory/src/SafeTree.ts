import { constants } from 'node:fs';
import { link, lstat, mkdir, open, symlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, RastError } from '@rast-backup/core';

/**
 * Creates entries inside a destination that restore started empty. Every parent must be a directory this
 * tree made itself, so nothing is ever written through a symlink or outside the destination.
 */
export class SafeTree {
  private readonly directories = new Set<string>(['.']);

  constructor(readonly root: string) {}

  absolute(relative: string): string {
    return relative === '.' ? this.root : path.join(this.root, relative);
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

  async createFile(relative: string): Promise<FileHandle> {
    await this.prepareParent(relative);
    return this.exclusive(relative, () => open(this.absolute(relative), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600));
  }

  async symlink(target: string, relative: string): Promise<void> {
    await this.prepareParent(relative);
    await this.exclusive(relative, () => symlink(target, this.absolute(relative)));
  }

  /** Creates something that must not exist yet: a second entry at one path is a damaged or hostile backup. */
  private async exclusive<T>(relative: string, create: () => Promise<T>): Promise<T> {
    try {
      return await create();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST' || (error as NodeJS.ErrnoException).code === 'ELOOP') throw this.unsafe(relative, 'already exists: the backup lists it twice, or as a directory too');
      throw error;
    }
  }

  async hardlink(existing: string, relative: string): Promise<void> {
    await this.prepareParent(relative);
    const stats = await lstat(this.absolute(existing));
    if (!stats.isFile()) throw this.unsafe(relative, `links to ${existing}, which is not a regular file`);
    await this.exclusive(relative, () => link(this.absolute(existing), this.absolute(relative)));
  }

  private unsafe(relative: string, reason: string): RastError {
    return new RastError(ErrorCode.RESTORE_UNSAFE, `refusing to restore ${relative}: it ${reason}`, { path: relative });
  }
}
