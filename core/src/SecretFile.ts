import { stat } from 'node:fs/promises';
import { BACKUP_GROUP, groupId, groupName } from './Group.js';

/**
 * Why a file holding a secret (a private key, a passphrase, a config with credentials) is exposed, with the
 * command that fixes it; undefined when only its owner may use it, or also members of the group rast-backup
 * may read it (mode 0640 or stricter, group rast-backup). Throws the stat error of a file that cannot be read.
 */
export async function secretFileExposure(file: string): Promise<string | undefined> {
  const stats = await stat(file);
  const mode = stats.mode & 0o777;
  const shown = `mode ${mode.toString(8).padStart(4, '0')}`;
  const fix = `run: chmod 600 ${file}`;
  if ((mode & 0o007) !== 0)
    return `${file} is accessible by others (${shown}): a secret must be private to its owner (or readable by the group ${BACKUP_GROUP} only); ${fix}`;
  if ((mode & 0o070) === 0) return undefined;
  const group = await groupName(stats.gid);
  if ((mode & 0o070) !== 0o040)
    return `${file} is writable or executable by its group ${group} (${shown}): a secret may at most be readable by the group ${BACKUP_GROUP}; ${fix} (or chmod 640 and chgrp ${BACKUP_GROUP})`;
  if (stats.gid === (await groupId(BACKUP_GROUP))) return undefined;
  return `${file} is readable by its group ${group} (${shown}): only the group ${BACKUP_GROUP} may share a secret; ${fix} (or chgrp ${BACKUP_GROUP} ${file})`;
}
