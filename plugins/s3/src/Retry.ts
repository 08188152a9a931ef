import { setTimeout as sleep } from 'node:timers/promises';

export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  /** Delay before the second try; it doubles each time (full jitter), capped at `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs?: number;
}

const TRANSIENT_NAMES = new Set([
  'InternalError',
  'ServiceUnavailable',
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestTimeout',
  'RequestTimeoutException',
  'RequestTimeTooSkewed',
  'TimeoutError',
  'TruncatedBody',
  'OperationAborted',
]);
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
]);

/**
 * Whether trying again may help: 5xx, throttling, timeouts, connection resets, a body cut short. Classified by
 * status, name and code only (Node gives a hung-up socket and an aborted response the code ECONNRESET).
 */
export function isTransient(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const candidate = error as {
    name?: string;
    code?: string;
    $metadata?: { httpStatusCode?: number };
    $retryable?: unknown;
    cause?: unknown;
  };
  const status = candidate.$metadata?.httpStatusCode;
  if (status !== undefined && (status >= 500 || status === 429 || status === 408)) return true;
  if (status !== undefined && status >= 400) return candidate.name === 'RequestTimeTooSkewed';
  if (candidate.$retryable) return true;
  if (candidate.name && TRANSIENT_NAMES.has(candidate.name)) return true;
  if (candidate.code && TRANSIENT_CODES.has(candidate.code)) return true;
  return candidate.cause !== undefined && candidate.cause !== error && isTransient(candidate.cause);
}

/** The longest wait after try `tryNumber` fails. */
export function backoffCeilingMs(policy: RetryPolicy, tryNumber: number): number {
  return Math.min(policy.maxDelayMs ?? 20_000, policy.baseDelayMs * 2 ** (tryNumber - 1));
}

/** Runs `attempt` until it succeeds, fails with a permanent error, or has used every try. */
export async function retrying<T>(
  policy: RetryPolicy,
  attempt: (tryNumber: number) => Promise<T>,
  onRetry?: (error: unknown, tryNumber: number, delayMs: number) => void,
): Promise<T> {
  for (let tryNumber = 1; ; tryNumber++) {
    try {
      return await attempt(tryNumber);
    } catch (error) {
      if (tryNumber >= policy.attempts || !isTransient(error)) throw error;
      const ceiling = backoffCeilingMs(policy, tryNumber);
      const delayMs = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
      onRetry?.(error, tryNumber, delayMs);
      await sleep(delayMs);
    }
  }
}
