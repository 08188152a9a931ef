import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { indexPath, isBinaryPath } from '@rast-backup/core';

/** Linux's O_PATH: an fd that names a file without opening it (not in Node's constants). */
const O_PATH = 0o10000000;

/**
 * Runs `use` with a text path to the file at `absolute`, for the APIs (and commands) that take only strings.
 * A path that is not UTF-8 is reached through a procfs link to an O_PATH descriptor of it (readable by child
 * processes too, hence the pid rather than `self`); symlinks are not followed.
 */
export async function withTextPath<T>(absolute: Buffer, use: (path: string) => Promise<T>): Promise<T> {
  if (!isBinaryPath(indexPath(absolute))) return use(absolute.toString('utf8'));
  const handle = await open(absolute, O_PATH | constants.O_NOFOLLOW);
  try {
    return await use(`/proc/${process.pid}/fd/${handle.fd}`);
  } finally {
    await handle.close();
  }
}
