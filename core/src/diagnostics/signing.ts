import { ErrorCode, RastError } from '../errors.js';

/** Trust: manifests without a good signature, and keys that do not fit the backup. */

/** The catalog refused a backup's manifest; `problem` is its authentication's one line. */
export function manifestUnauthenticated(backup: string, problem: string): RastError {
  return new RastError(ErrorCode.BACKUP_UNAUTHENTICATED, problem, { backup });
}

/** This host has no key that decrypts the backup (none configured, or not one it was encrypted to); `problem` says which it needs. */
export function decryptionKeyUnusable(problem: string, facts: Record<string, unknown>): RastError {
  return new RastError(ErrorCode.TRANSFORM_FAILED, problem, facts);
}

/** A secret file the command was told to read (a passphrase file) that it cannot use; `problem` names the file or follows it. */
export function secretFileUnusable(what: string, file: string, problem: string): RastError {
  return new RastError(ErrorCode.USAGE, `${what} ${problem.startsWith(file) ? '' : `${file} `}${problem}`.replace(/ $/, ''), {
    path: file,
  });
}
