import { ErrorCode, RastError } from '../errors.js';

/** Verify: damage found, or what this host could not check. */

export function verifyFailed(problem: string, facts: Record<string, unknown>): RastError {
  return new RastError(ErrorCode.VERIFY_FAILED, `verify failed: ${problem}`, facts);
}

export function cannotCheck(what: string, reason: string, facts: Record<string, unknown>): RastError {
  return new RastError(ErrorCode.CANNOT_CHECK, `cannot check ${what} in full on this host${reason ? `: ${reason}` : ''}`, facts);
}
