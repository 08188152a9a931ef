import { ErrorCode, RastError } from './errors.js';

/** A stage's failure as it crosses back from a worker thread: its message, and its code when it was a RastError. */
export interface StageFailure {
  message: string;
  code?: ErrorCode;
}

export function stageFailure(error: unknown): StageFailure {
  return error instanceof RastError ? { message: error.message, code: error.code } : { message: (error as Error).message };
}

/** The failure again on the main thread: a RastError with its code, or an Error with its message. */
export function stageError(failure: StageFailure): Error {
  return failure.code ? new RastError(failure.code, failure.message) : new Error(failure.message);
}
