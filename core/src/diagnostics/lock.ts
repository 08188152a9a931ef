import { ErrorCode, RastError } from '../errors.js';

/** Locks: another run holds what this one needs. */

export function sourceBusy(source: string, pid: number | string): RastError {
  return new RastError(ErrorCode.LOCKED, `a backup of ${source} is already running (pid ${pid}); wait for it to finish`, { source });
}

export function lockUnavailable(file: string, source: string): RastError {
  return new RastError(ErrorCode.LOCKED, `could not take the lock ${file} for ${source}`, { source });
}
