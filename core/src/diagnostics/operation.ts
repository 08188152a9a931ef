import { ErrorCode, RastError } from '../errors.js';

/** Operations as a whole: interrupted by a signal. */

/** The one-line error of an operation stopped by `signal` (its OS name); `outcome` says what was left (or removed). */
export function operationInterrupted(what: string, signal: string, outcome: string): RastError {
  return new RastError(ErrorCode.INTERRUPTED, `${what} interrupted by ${signal}: ${outcome}`, { signal });
}

/** What an operation's own steps throw once the signal fired; the operation replaces it after cleaning up. */
export function stoppedBy(signal: string): RastError {
  return new RastError(ErrorCode.INTERRUPTED, `interrupted by ${signal}`, { signal });
}
