import { ErrorCode, RastError } from '../errors.js';

/** Backups in the catalog: finding one by reference, its chain of parents, what depends on it. */

export function noBackupsYet(sinks: string, reference: string): RastError {
  return new RastError(ErrorCode.BACKUP_NOT_FOUND, `no backups yet in ${sinks}`, { reference });
}

export function backupNotFound(reference: string, sinks: string): RastError {
  return new RastError(ErrorCode.BACKUP_NOT_FOUND, `no backup ${reference} in ${sinks} (see rast-backup list)`, { reference });
}

export function backupAmbiguous(reference: string, matches: string[]): RastError {
  const shown = matches.slice(0, 5).join(', ');
  return new RastError(
    ErrorCode.BACKUP_AMBIGUOUS,
    `backup id ${reference} is ambiguous: it matches ${matches.length} backups (${shown}${matches.length > 5 ? ', …' : ''}); give more of the id`,
    { reference },
  );
}

export function backupDependedOn(backup: string, dependents: string[]): RastError {
  return new RastError(ErrorCode.BACKUP_DEPENDED_ON, `backup ${backup} is the parent of ${dependents.join(', ')}: delete those first`, {
    backup,
    dependents,
  });
}

export function backupCommitted(backup: string): RastError {
  return new RastError(ErrorCode.USAGE, `backup ${backup} is committed: delete it as a backup`, { backup });
}

export function backupDeletedWhileCopied(backup: string, sink: string): RastError {
  return new RastError(ErrorCode.BACKUP_NOT_FOUND, `backup ${backup} was deleted from sink ${sink} while it was copied`, { backup });
}

export function chainLoops(backup: string, at: string): RastError {
  return new RastError(ErrorCode.PARENT_INVALID, `backup ${backup}: its chain of parents loops at ${at}`, { backup });
}

/** A backup's parent is not there; `where` says where it is not (`which is in no sink (…)`). */
export function parentMissing(backup: string, parent: string, where: string): RastError {
  return new RastError(ErrorCode.PARENT_INVALID, `backup ${backup} needs its parent ${parent}, ${where}`, { backup, parent });
}

/** `--parent REFERENCE` names a backup that cannot be this create's parent: `problem` says why. */
export function parentUnusable(reference: string, parent: string, problem: string): RastError {
  return new RastError(ErrorCode.PARENT_INVALID, `--parent ${reference}: ${problem}`, { parent });
}

export function parentOtherFormat(parent: string, parentFormat: string, format: string): RastError {
  return new RastError(
    ErrorCode.PARENT_INVALID,
    `parent ${parent} is a ${parentFormat} backup; this source makes ${format}: make a full backup`,
    {
      parent,
    },
  );
}

export function parentDeletedDuringCreate(parent: string, backup: string): RastError {
  return new RastError(
    ErrorCode.PARENT_INVALID,
    `parent ${parent} was deleted while backup ${backup} was being made, so ${backup} was not committed: run create again`,
    { parent },
  );
}

export function dependentsUnknown(backup: string, sink: string, reason: string): RastError {
  return new RastError(
    ErrorCode.SINK_FAILED,
    `cannot tell which backups depend on ${backup}: sink ${sink} could not be read (${reason}); try again when every sink is reachable`,
    { backup, sink },
  );
}

/** A parent the source cannot build on (`problem` follows its id: `is not a btrfs-send backup of /home: make a full backup`). */
export function parentUnfit(parent: string, problem: string): RastError {
  return new RastError(ErrorCode.PARENT_INVALID, `parent ${parent} ${problem}`, { parent });
}

/** A chain whose streams do not follow each other (a full stream where an incremental belongs, another subvolume). */
export function chainMismatch(problem: string): RastError {
  return new RastError(ErrorCode.PARENT_INVALID, problem);
}

/** This host's copy of a manifest the catalog summarized is gone or changed: the next run reads it from the sink again. */
export function manifestCopyUnreadable(id: string, sink: string, problem: string): RastError {
  return new RastError(
    ErrorCode.MANIFEST_DAMAGED,
    `backup ${id} of sink ${sink}: ${problem}; run the command again (it is then read from the sink)`,
    {
      backup: id,
      sink,
    },
  );
}
