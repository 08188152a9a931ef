import { ErrorCode, RastError } from '../errors.js';

/** Trust: manifests without a good signature, and keys that do not fit the backup. */

/** The catalog refused a backup's manifest; `problem` is its authentication's one line. */
export function manifestUnauthenticated(backup: string, problem: string): RastError {
  return new RastError(ErrorCode.BACKUP_UNAUTHENTICATED, problem, { backup });
}

/** The key this host would decrypt with is not one the backup was encrypted to. */
export function keyNotRecipient(problem: string, facts: Record<string, unknown>): RastError {
  return new RastError(ErrorCode.TRANSFORM_FAILED, problem, facts);
}
