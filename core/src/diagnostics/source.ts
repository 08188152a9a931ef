import { ErrorCode, RastError } from '../errors.js';

/** The source of a create: the path to back up, and whether a plugin can. */

export function sourceUnusable(shown: string, problem: string): RastError {
  return new RastError(ErrorCode.SOURCE_INVALID, `source ${shown} ${problem}`, { path: shown });
}

export function noSourcePlugin(shown: string): RastError {
  return new RastError(ErrorCode.SOURCE_INVALID, `no loaded plugin can back up ${shown}`, { path: shown });
}

export function emptySource(value: string): RastError {
  return new RastError(ErrorCode.USAGE, `source ${JSON.stringify(value)} is empty: give the directory or subvolume to back up`, {
    path: value,
  });
}

/** Snapshotting or reading the source failed at `what` (a tool run, a subvolume, an exclusion); `problem` says why and what to do. */
export function sourceFailed(what: string, problem: string, facts: Record<string, unknown> = {}): RastError {
  return new RastError(ErrorCode.SOURCE_INVALID, `${what}: ${problem}`, facts);
}
