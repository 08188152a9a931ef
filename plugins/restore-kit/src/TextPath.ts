import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, lstat, open, unlink } from 'node:fs/promises';
import { indexPath, isBinaryPath } from '@rast-backup/core';

/** Linux's O_PATH: an fd that names a file without opening it (not in Node's constants). */
const O_PATH = 0o10000000;

const slash = (bytes: Buffer) => bytes.lastIndexOf(0x2f);

/** A file whose own name is not UTF-8, which no text path reaches without a link (see withTextPath). */
export class NoTextPath extends Error {
  constructor() {
    super('its name is not UTF-8, and the xattr library takes only UTF-8 paths');
  }
}

/**
 * Runs `use` with a text path to the file at `absolute`, for the APIs and commands that take only strings (the
 * xattr library, mkfifo). A path that is not UTF-8 is reached through procfs: `/proc/<pid>/fd/<fd>/…` of an
 * O_PATH descriptor of its directory (readable by child processes too, hence the pid). That library does not
 * follow a final symlink, procfs's own included, so a file (not a directory) whose own name is not UTF-8 is
 * reached only with `mayLink`: through a temporary hard link of an ASCII name beside it (which changes its ctime:
 * for restores only). Without it, such a file throws.
 */
export async function withTextPath<T>(
  absolute: Buffer,
  use: (path: string) => Promise<T>,
  options: { mayLink?: boolean } = {},
): Promise<T> {
  if (!isBinaryPath(indexPath(absolute))) return use(absolute.toString('utf8'));
  const isDirectory = (await lstat(absolute)).isDirectory();
  const parent = isDirectory ? absolute : absolute.subarray(0, Math.max(slash(absolute), 1));
  const name = isDirectory ? '.' : indexPath(absolute.subarray(slash(absolute) + 1));
  const handle = await open(parent, O_PATH | constants.O_DIRECTORY);
  try {
    const directory = `/proc/${process.pid}/fd/${handle.fd}`;
    if (!isBinaryPath(name)) return await use(`${directory}/${name}`);
    if (!options.mayLink) throw new NoTextPath();
    const temporary = `.rast-name-${randomBytes(6).toString('hex')}`;
    await link(absolute, Buffer.concat([parent, Buffer.from(`/${temporary}`)]));
    try {
      return await use(`${directory}/${temporary}`);
    } finally {
      await unlink(Buffer.concat([parent, Buffer.from(`/${temporary}`)]));
    }
  } finally {
    await handle.close();
  }
}
