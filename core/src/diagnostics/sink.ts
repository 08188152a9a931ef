import { ErrorCode, RastError } from '../errors.js';
import type { Sink } from '../types.js';
import { reasonOf, sinkPlace } from './place.js';

/** Sinks: a sink that cannot do what was asked, or cannot be read. */

/**
 * A sink could not `action` (`store data/…`, `delete backup X`): `sink NAME (LOCATION): cannot ACTION: REASON`.
 * A RastError is returned as it is (it names its sink already) unless `more.advice` is given. `reason` defaults
 * to the error's message.
 */
export function sinkFailed(
  sink: Pick<Sink, 'name' | 'location'>,
  action: string,
  error: unknown,
  more: { reason?: string; advice?: string; facts?: Record<string, unknown>; kind?: string } = {},
): RastError {
  if (error instanceof RastError && !more.advice) return error;
  return new RastError(
    ErrorCode.SINK_FAILED,
    `${sinkPlace(sink, more.kind)}: cannot ${action}: ${more.reason ?? reasonOf(error)}${more.advice ? `; ${more.advice}` : ''}`,
    { sink: sink.name, ...more.facts },
    error === undefined ? undefined : { cause: error },
  );
}

export function noSinkReadable(unreadable: ReadonlyArray<{ sink: Sink; error: Error }>): RastError {
  return new RastError(
    ErrorCode.SINK_FAILED,
    `no sink can be read: ${unreadable.map(({ sink, error }) => `${sink.name}: ${error.message}`).join('; ')}`,
    { sinks: unreadable.map(({ sink }) => sink.name) },
  );
}

/** An operation that needs every sink (repair) found some unreadable; it changed nothing. */
export function sinksUnreadable(operation: string, unreadable: ReadonlyArray<{ sink: Sink; error: Error }>): RastError {
  return new RastError(
    ErrorCode.SINK_FAILED,
    `${operation} needs every sink, and ${unreadable.map(({ sink, error }) => `${sinkPlace(sink)} cannot be read: ${error.message}`).join('; ')}; nothing was changed`,
    { sinks: unreadable.map(({ sink }) => sink.name) },
  );
}

export function objectVanishedWhileCopied(backup: string, key: string, sink: string): RastError {
  return new RastError(ErrorCode.SINK_FAILED, `backup ${backup}: ${key} vanished from sink ${sink} while it was copied`, { backup, sink });
}

export function objectsVanishedDuringCreate(sink: Sink, backup: string, gone: string[], total: number): RastError {
  return new RastError(
    ErrorCode.SINK_FAILED,
    `${sinkPlace(sink)}: ${gone.length} of the ${total} objects of backup ${backup} vanished while it was being made (${gone[0]}); a prune may have taken them for an interrupted create's: leftover_age_hours must exceed the longest create`,
    { sink: sink.name, backup },
  );
}

export function committedInSome(backup: string, held: string[], failures: Map<Sink, Error>): RastError {
  return new RastError(
    ErrorCode.SINK_FAILED,
    `backup ${backup} is committed in ${held.join(', ')} only: ${[...failures.values()].map((error) => error.message).join('; ')}`,
    { backup, committed: held, failed: [...failures.keys()].map((sink) => sink.name) },
  );
}

export function notStored(backup: string, failures: Map<Sink, Error>): RastError {
  const errors = [...failures.values()];
  return new RastError(ErrorCode.SINK_FAILED, `backup ${backup} was not stored: ${errors.map((error) => error.message).join('; ')}`, {
    backup,
    failed: [...failures.keys()].map((sink) => sink.name),
  });
}

/** `sync` or `copy` left failures: the first is named, the report rides along. */
export function transferFailed(operation: string, failures: string[], copied: number, facts: Record<string, unknown>): RastError {
  const count = failures.length;
  return new RastError(
    ErrorCode.SINK_FAILED,
    `${operation}: ${count} ${count === 1 ? 'failure' : 'failures'} (${copied} copied), first: ${failures[0]}`,
    facts,
  );
}

/** A notification (or another delivery outside the repository) failed. */
export function deliveryFailed(error: unknown): RastError {
  return new RastError(ErrorCode.SINK_FAILED, reasonOf(error), {}, { cause: error });
}

/** A tool wrote to a device that filled up; `output` is what the tool said. */
export function deviceFull(what: string, output: string): RastError {
  return new RastError(ErrorCode.SINK_FAILED, `${what}: no space left on the device (${output})`);
}
