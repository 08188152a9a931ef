import path from 'node:path';
import { displayPath, ErrorCode, RastError, type FileIndex } from '@rast-backup/core';
import { safeRelativePath } from './SafeRelativePath.js';

/**
 * Checks that a file index describes a tree that can be restored inside a destination: safe relative paths,
 * each listed once, nothing below an entry that is not a directory (a file "through" a symlink), and hard
 * links only to files the index holds, each entry's data in a backup of `chain` (when known). Restore runs it before writing anything; verify, so that a backup
 * restore would refuse is never reported intact. Throws RESTORE_UNSAFE naming the backup and the path.
 */
export function checkIndex(index: FileIndex, backupId: string, chain?: Set<string>): void {
  const types = new Map<string, string>();
  const refuse = (entryPath: string, reason: string) =>
    new RastError(ErrorCode.RESTORE_UNSAFE, `backup ${backupId}: refusing to restore "${displayPath(entryPath)}": ${reason}`, {
      backup: backupId,
      path: displayPath(entryPath),
    });
  for (const entry of index.entries) {
    safeRelativePath(entry.path, backupId);
    if (types.has(entry.path)) throw refuse(entry.path, 'the index lists it twice');
    if (chain && !chain.has(entry.from))
      throw refuse(entry.path, `the index says backup ${entry.from} holds it, which is not in its chain`);
    types.set(entry.path, entry.type);
  }
  for (const entry of index.entries) {
    for (let parent = path.posix.dirname(entry.path); parent !== '.'; parent = path.posix.dirname(parent)) {
      const type = types.get(parent);
      if (type !== undefined && type !== 'directory') throw refuse(entry.path, `it lies below ${displayPath(parent)}, which is a ${type}`);
    }
    if (entry.type === 'hardlink') {
      safeRelativePath(entry.linkTo ?? '', backupId);
      if (types.get(entry.linkTo!) !== 'file')
        throw refuse(entry.path, `it is a hard link to "${displayPath(entry.linkTo!)}", which the backup does not hold as a file`);
    }
  }
}
