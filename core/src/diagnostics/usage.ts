import { ErrorCode, RastError } from '../errors.js';

/** The command line: an argument or option the user gave that cannot be used. */

/** An empty (or blank) argument (`--parent ""`, `rast-backup create ""`): `what` names it, `remedy` says what to give. */
export function emptyArgument(what: string, value: string, remedy: string, facts: Record<string, unknown> = {}): RastError {
  return new RastError(ErrorCode.USAGE, `${what} ${JSON.stringify(value)} is empty: ${remedy}`, facts);
}

export function badPointInTime(option: string, value: string, why: string, forms: string): RastError {
  return new RastError(ErrorCode.USAGE, `${option} ${JSON.stringify(value)}: ${why}; give ${forms}`, { option, value });
}

export function emptyPeriod(since: { value: string; at: Date }, until: { value: string; at: Date }): RastError {
  return new RastError(
    ErrorCode.USAGE,
    `--since ${JSON.stringify(since.value)} (${since.at.toISOString()}) is after --until ${JSON.stringify(until.value)} (${until.at.toISOString()}): no backup can match`,
    { option: '--since', value: since.value },
  );
}

/** An exclude pattern that cannot be one; `where` says where it was given (`--exclude`, `--exclude-file F:3`, `[backup] exclude`). */
export function excludePatternInvalid(where: string, pattern: string, problem: string, facts: Record<string, unknown> = {}): RastError {
  return new RastError(ErrorCode.USAGE, `${where}: the pattern ${JSON.stringify(pattern)} ${problem}`, { pattern, ...facts });
}

export function excludeFileUnreadable(file: string, reason: string): RastError {
  return new RastError(ErrorCode.USAGE, `--exclude-file ${file}: cannot read it: ${reason}`, { file });
}

/** A path inside a backup, as given on the command line, that may not be one. */
export function backupPathInvalid(argument: string, problem: string): RastError {
  return new RastError(ErrorCode.USAGE, `path ${argument}: ${problem}`, { path: argument });
}

export function pathNotInBackup(backup: string, path: string): RastError {
  return new RastError(ErrorCode.USAGE, `backup ${backup} has no ${path}`, { backup, path });
}

export function differentSources(before: { id: string; path: string }, after: { id: string; path: string }): RastError {
  return new RastError(
    ErrorCode.USAGE,
    `backups ${before.id} (source ${before.path}) and ${after.id} (source ${after.path}) are of different sources: diff compares two backups of one source`,
    { before: before.id, after: after.id },
  );
}

export function includeMatchesNothing(backup: string, patterns: string[]): RastError {
  return new RastError(
    ErrorCode.USAGE,
    `--include ${patterns.join(' ')}: matches nothing in backup ${backup} (see its files with rast-backup ls)`,
    { backup },
  );
}

/** An option's value the command cannot use; `remedy` says what to give instead. */
export function optionInvalid(option: string, value: string | undefined, problem: string, facts: Record<string, unknown> = {}): RastError {
  return new RastError(ErrorCode.USAGE, `${option}${value === undefined ? '' : ` ${value}`}: ${problem}`, { option, ...facts });
}

/** An environment variable holding a value the command cannot use (`RAST_BACKUP_BTRFS_RECEIVER=x`). */
export function environmentInvalid(variable: string, value: string, problem: string): RastError {
  return new RastError(ErrorCode.USAGE, `${variable}=${value}: ${problem}`, { variable });
}
