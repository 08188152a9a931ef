import { link, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeDirectories, processAlive, lockUnavailable, sourceBusy } from '@rast-backup/core';

const LOCK_DIRECTORY = '/run/rast-backup/locks';

async function ownerOf(file: string): Promise<number> {
  return Number((await readFile(file, 'utf8').catch(() => '')).trim());
}

/** Creates `file` holding this process's pid, atomically (a link of a complete file): never seen empty. */
async function create(file: string): Promise<boolean> {
  const temporary = `${file}.${process.pid}`;
  await writeFile(temporary, String(process.pid), { mode: 0o600 });
  try {
    await link(temporary, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await unlink(temporary).catch(() => {});
  }
}

/**
 * One create per source at a time: a lock file holding the owner's pid. A lock whose process is gone
 * (a create that was killed) is taken over: moved aside by rename, which only one of several takers can do.
 */
export async function lockSource(key: string, label: string): Promise<() => Promise<void>> {
  await makeDirectories(LOCK_DIRECTORY, 0o700);
  const file = path.join(LOCK_DIRECTORY, `${key}.lock`);
  const locked = (owner: number) => sourceBusy(label, owner);
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await create(file)) {
      return async () => {
        await unlink(file).catch(() => {});
      };
    }
    const owner = await ownerOf(file);
    if (owner && processAlive(owner)) throw locked(owner);
    const aside = `${file}.stale-${process.pid}`;
    try {
      await rename(file, aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    const moved = await ownerOf(aside);
    if (moved > 0 && moved !== owner && processAlive(moved)) {
      // Another taker replaced the stale lock in the meantime: that fresh lock goes back.
      await link(aside, file).catch(() => {});
      await unlink(aside).catch(() => {});
      throw locked(moved);
    }
    await unlink(aside).catch(() => {});
  }
  throw lockUnavailable(file, label);
}
