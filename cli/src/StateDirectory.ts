import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeDirectories, stateDirectory } from '@rast-backup/core';

export { stateDirectory };

/** Reads a small JSON state file; a missing or unreadable one reads as `fallback`. */
export async function readState<T>(name: string, fallback: T, environment?: NodeJS.ProcessEnv): Promise<T> {
  try {
    return JSON.parse(await readFile(path.join(stateDirectory(environment), name), 'utf8')) as T;
  } catch {
    return fallback;
  }
}

/** Writes a small JSON state file atomically (temporary file, then rename). */
export async function writeState(name: string, value: unknown, environment?: NodeJS.ProcessEnv): Promise<void> {
  const directory = stateDirectory(environment);
  await makeDirectories(directory, 0o700);
  const file = path.join(directory, name);
  const temporary = `${file}.tmp-${process.pid}`;
  await writeFile(temporary, `${JSON.stringify(value)}\n`, { mode: 0o600 });
  await rename(temporary, file);
}
