import { ErrorCode, RastError } from '../errors.js';
import { reasonOf } from './place.js';

/** Restore: the destination, paths that would leave it, and what could not be made there. */

export function destinationInvalid(destination: string, problem: string, facts: Record<string, unknown> = {}): RastError {
  return new RastError(ErrorCode.DESTINATION_INVALID, `destination ${destination} ${problem}`, { path: destination, ...facts });
}

/** A file the command would write (a key file) that it may not or cannot write. */
export function outputRefused(file: string, problem: string): RastError {
  return new RastError(ErrorCode.DESTINATION_INVALID, `${file} ${problem}`, { path: file });
}

/** A path of a backup (as displayed) that would land outside the destination. */
export function unsafePath(backup: string, path: string): RastError {
  return new RastError(
    ErrorCode.RESTORE_UNSAFE,
    `backup ${backup} holds an unsafe path ${JSON.stringify(path)}: refusing to restore outside the destination`,
    { backup, path },
  );
}

/** An entry (its path as displayed) that restore refuses to make: it would leave the destination, or land on something restore did not make. */
export function restoreUnsafe(backup: string | undefined, path: string, reason: string): RastError {
  return new RastError(ErrorCode.RESTORE_UNSAFE, `${backup ? `backup ${backup}: ` : ''}refusing to restore "${path}": ${reason}`, {
    ...(backup ? { backup } : {}),
    path,
  });
}

export function restoreStopped(backup: string, destination: string, error: unknown, hint: string): RastError {
  return new RastError(
    ErrorCode.RESTORE_INCOMPLETE,
    `restore of ${backup} into ${destination} stopped: ${reasonOf(error)}${hint}; what was restored so far is left there`,
    { backup, path: destination },
    { cause: error },
  );
}

/** A tool run to make something in the destination failed (`mknod`, `btrfs receive`). */
export function toolFailed(command: string, args: string[], where: string | undefined, output: string, status: number | null): RastError {
  return new RastError(
    ErrorCode.RESTORE_INCOMPLETE,
    `${command} ${args.join(' ')}${where ? ` in ${where}` : ''}: ${output || `exit ${status}`}`,
    { tool: command },
  );
}

/** Restore put everything else in place but could not make `skipped` there (without --ignore-unrestorable). */
export function restoreSkipped(backup: string, destination: string, skipped: unknown[]): RastError {
  return new RastError(
    ErrorCode.RESTORE_INCOMPLETE,
    `restore of backup ${backup} into ${destination} is incomplete: ${skipped.length} kind(s) of content could not be restored there (listed above); everything else is in place. Run as root or onto a filesystem that holds them, or accept this with --ignore-unrestorable`,
    { backup, skipped },
  );
}

/** Restore refused to make an entry at `where` (a stream command and its path). */
export function restoreRefused(where: string, reason: string, facts: Record<string, unknown> = {}): RastError {
  return new RastError(ErrorCode.RESTORE_UNSAFE, `${where}: refused: ${reason}`, facts);
}

/** A system error while making what restore writes at `where`. */
export function restoreWriteFailed(where: string, error: unknown, facts: Record<string, unknown> = {}): RastError {
  return new RastError(ErrorCode.RESTORE_INCOMPLETE, `${where}: ${reasonOf(error)}`, facts, { cause: error });
}
