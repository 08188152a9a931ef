import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * `mkdir -p`: creates `directory` and its missing parents with `mode`; returns the first directory it
 * created, or undefined when it existed. Node's own `mkdir(…, { recursive: true })` spins forever (100 % CPU)
 * where mkdir answers ENOENT below a parent that exists, as procfs and sysfs do (`/proc/x/repo`); this one
 * fails with that ENOENT instead.
 */
export async function makeDirectories(directory: string, mode?: number): Promise<string | undefined> {
  const target = path.resolve(directory);
  const create = async (): Promise<boolean> => {
    try {
      await mkdir(target, { mode });
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (!(await stat(target)).isDirectory()) throw error;
      return false;
    }
  };
  try {
    return (await create()) ? target : undefined;
  } catch (error) {
    const parent = path.dirname(target);
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || parent === target) throw error;
    const first = await makeDirectories(parent, mode);
    // The parent exists now: a second ENOENT is final.
    return (await create()) ? (first ?? target) : first;
  }
}
