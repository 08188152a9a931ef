import { open, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, makeDirectories, RastError } from '@rast-backup/core';

const LOCK_DIRECTORY = '/run/rast-backup/locks';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One create per source at a time: a lock file holding the owner's pid. A lock whose process is gone
 * (a create that was killed) is taken over.
 */
export async function lockSource(key: string, label: string): Promise<() => Promise<void>> {
  await makeDirectories(LOCK_DIRECTORY, 0o700);
  const file = path.join(LOCK_DIRECTORY, `${key}.lock`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, 'wx', 0o600);
      await handle.writeFile(String(process.pid));
      await handle.close();
      return async () => {
        await unlink(file).catch(() => {});
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (owner && alive(owner)) {
        throw new RastError(ErrorCode.LOCKED, `a backup of ${label} is already running (pid ${owner}); wait for it to finish`, { source: label });
      }
      await unlink(file).catch(() => {});
    }
  }
  throw new RastError(ErrorCode.LOCKED, `could not take the lock ${file} for ${label}`, { source: label });
}
