import type { RastError } from './errors.js';
import { operationInterrupted, stoppedBy } from './diagnostics/index.js';

/**
 * Operations that can be interrupted take an AbortSignal; whoever aborts it (the CLI, on SIGINT or SIGTERM)
 * gives the name of the OS signal as the reason, so that the error, and the exit status, can name it.
 */
function signalName(signal: AbortSignal): string {
  return typeof signal.reason === 'string' ? signal.reason : 'an abort';
}

/** The one-line error of an operation stopped by `signal`; `outcome` says what was left (or removed). */
export function interrupted(signal: AbortSignal, what: string, outcome: string): RastError {
  return operationInterrupted(what, signalName(signal), outcome);
}

/** What the operation's own steps throw once the signal fired; the operation replaces it with `interrupted()` after cleaning up. */
function stopped(signal: AbortSignal): RastError {
  return stoppedBy(signalName(signal));
}

export function stopIfInterrupted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw stopped(signal);
}

/** A promise that rejects once `signal` fires (never without one): to race against a long wait. */
export function whenInterrupted(signal: AbortSignal | undefined): Promise<never> {
  const waiting = new Promise<never>((_, reject) => {
    if (signal?.aborted) reject(stopped(signal));
    else signal?.addEventListener('abort', () => reject(stopped(signal)), { once: true });
  });
  waiting.catch(() => {});
  return waiting;
}
