import { homedir } from 'node:os';
import path from 'node:path';

/**
 * Where small state that belongs to this host, not to a repository, is kept (the rotation of
 * `verify --read-subset`, plaintext copies of the file indexes this host made): RAST_BACKUP_STATE_DIR, else
 * systemd's STATE_DIRECTORY (StateDirectory=), else /var/lib/rast-backup for root, else
 * $XDG_STATE_HOME/rast-backup (~/.local/state/rast-backup).
 */
export function stateDirectory(environment: NodeJS.ProcessEnv = process.env): string {
  if (environment.RAST_BACKUP_STATE_DIR) return environment.RAST_BACKUP_STATE_DIR;
  if (environment.STATE_DIRECTORY) return environment.STATE_DIRECTORY.split(':')[0]!;
  if (process.getuid?.() === 0) return '/var/lib/rast-backup';
  return path.join(environment.XDG_STATE_HOME || path.join(homedir(), '.local', 'state'), 'rast-backup');
}
