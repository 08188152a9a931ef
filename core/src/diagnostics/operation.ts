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

/** An operation stopped partway by `error` (its code kept, else SINK_FAILED); `what` says how far it got, `advice` what to do. */
export function stoppedPartway(what: string, error: unknown, advice: string, facts: Record<string, unknown>): RastError {
  return new RastError(
    error instanceof RastError ? error.code : ErrorCode.SINK_FAILED,
    `${what}: ${error instanceof Error ? error.message : String(error)}; ${advice}`,
    facts,
    { cause: error },
  );
}

/** A diagnostic raised at `where` (a stream position, a step), located there: same code, its facts and `facts`. */
export function locatedAt(where: string, error: RastError, facts: Record<string, unknown> = {}): RastError {
  return new RastError(error.code, `${where}: ${error.message}`, { ...error.facts, ...facts });
}
