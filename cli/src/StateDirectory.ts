import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';

/**
 * Where the CLI keeps small state that belongs to this host, not to a repository (the rotation of
 * `verify --read-subset`): RAST_BACKUP_STATE_DIR, else systemd's STATE_DIRECTORY (StateDirectory=), else
 * /var/lib/rast-backup for root, else $XDG_STATE_HOME/rast-backup (~/.local/state/rast-backup).
 */
export function stateDirectory(environment: NodeJS.ProcessEnv = process.env): string {
  if (environment.RAST_BACKUP_STATE_DIR) return environment.RAST_BACKUP_STATE_DIR;
  if (environment.STATE_DIRECTORY) return environment.STATE_DIRECTORY.split(':')[0]!;
  if (process.getuid?.() === 0) return '/var/lib/rast-backup';
  return path.join(environment.XDG_STATE_HOME || path.join(homedir(), '.local', 'state'), 'rast-backup');
}

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
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const file = path.join(directory, name);
  const temporary = `${file}.tmp-${process.pid}`;
  await writeFile(temporary, `${JSON.stringify(value)}\n`, { mode: 0o600 });
  await rename(temporary, file);
}
