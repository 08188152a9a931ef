import { ErrorCode, RastError } from '../errors.js';
import type { Sink } from '../types.js';
import { reasonOf } from './place.js';

/** What a backup is stored as: its parts, its file index, its stream, its manifest. */

/** A sink has no object `key`: every sink's `get` throws this. */
export function partMissing(key: string, sink: Pick<Sink, 'name'> & Partial<Pick<Sink, 'location'>>): RastError {
  return new RastError(ErrorCode.PART_MISSING, `${key} is missing from sink ${sink.name}${sink.location ? ` (${sink.location})` : ''}`, {
    sink: sink.name,
    key,
  });
}

/** No sink holds a good copy of a part (`label`: `part 3`, `index block 2`); PART_MISSING when every copy is missing. */
export function partUnreadable(backup: string, label: string, key: string, problems: string[], damaged: boolean): RastError {
  return new RastError(
    damaged ? ErrorCode.PART_DAMAGED : ErrorCode.PART_MISSING,
    `backup ${backup}, ${label} (${key}): no good copy in any sink: ${problems.join('; ')}`,
    { backup, part: key },
  );
}

export function partUndecodable(backup: string, label: string, key: string, transform: string, error: unknown): RastError {
  return new RastError(
    ErrorCode.PART_DAMAGED,
    `backup ${backup}, ${label}: ${transform} could not decode it: ${reasonOf(error)}`,
    { backup, part: key },
    { cause: error },
  );
}

export function partSizeWrong(backup: string, label: string, key: string, size: number, expected: number): RastError {
  return new RastError(ErrorCode.PART_DAMAGED, `backup ${backup}, ${label}: decodes to ${size} bytes, the manifest says ${expected}`, {
    backup,
    part: key,
  });
}

/** A backup's file index is damaged; `problem` says where in it and how. */
export function indexDamaged(backup: string, problem: string): RastError {
  return new RastError(ErrorCode.PART_DAMAGED, `backup ${backup}, ${problem}`, { backup });
}

export function indexBlocksUnknown(backup: string): RastError {
  return new RastError(
    ErrorCode.PART_DAMAGED,
    `backup ${backup}: its file index cannot be decoded on this host, and no sink lists index blocks whose sizes add up to the manifest's storedSize`,
    { backup },
  );
}

/** An object cannot be copied to `sink`: no sink holds a good copy (`problems`, one per sink tried); PART_MISSING when none had it. */
export function noGoodCopy(what: string, key: string, sink: string, problems: string, missing: boolean): RastError {
  return new RastError(
    missing ? ErrorCode.PART_MISSING : ErrorCode.PART_DAMAGED,
    `${what}: no good copy to copy to sink ${sink}${problems ? ` (${problems})` : ' (no sink to copy it from)'}`,
    { key, sink },
  );
}

/** A backup's stream does not hold what its index and manifest say; `problem` names where. */
export function streamDamaged(backup: string, problem: string, facts: Record<string, unknown> = {}, cause?: unknown): RastError {
  return new RastError(
    ErrorCode.STREAM_DAMAGED,
    `backup ${backup}: ${problem}`,
    { backup, ...facts },
    cause === undefined ? undefined : { cause },
  );
}

export function spanOutsideStream(backup: string, start: number, end: number, size: number): RastError {
  return streamDamaged(backup, `span ${start}–${end} lies outside its stream of ${size} bytes`);
}

export function manifestOtherInSink(backup: string, sink: string): RastError {
  return new RastError(
    ErrorCode.MANIFEST_DAMAGED,
    `backup ${backup}: sink ${sink} holds a manifest for it that cannot be read as this backup's (damaged, or written since this run read the sinks); left as it is`,
    { backup, sink },
  );
}

export function noGoodManifest(backup: string, problems: string[]): RastError {
  return new RastError(ErrorCode.MANIFEST_DAMAGED, `backup ${backup}: no good copy of its manifest to copy (${problems.join('; ')})`, {
    backup,
  });
}

/** A transform failed on an object while encoding it (`transform` names it and its plugin, when known). */
export function encodingFailed(key: string, error: unknown, transform?: { name: string; plugin: string }): RastError {
  if (error instanceof RastError) return error;
  return new RastError(
    ErrorCode.TRANSFORM_FAILED,
    transform
      ? `${transform.name} (${transform.plugin}) failed on ${key}: ${reasonOf(error)}`
      : `encoding ${key} failed: ${reasonOf(error)}`,
    { key },
    { cause: error },
  );
}

export function workerFailed(error: unknown): RastError {
  return new RastError(ErrorCode.TRANSFORM_FAILED, `a worker thread failed: ${reasonOf(error)}`, {}, { cause: error });
}

/** A stream damaged at `where` (a label, a byte offset, a command), before any backup is named. */
export function streamDamagedAt(where: string, problem: string, facts: Record<string, unknown> = {}): RastError {
  return new RastError(ErrorCode.STREAM_DAMAGED, `${where}: ${problem}`, facts);
}

/**
 * Backup `backup`'s stream is damaged: `problem` says where in the stream (its `offset` fact, the byte) and how.
 * The read operations add the part holding that byte with {@link streamDamagedInPart}.
 */
export function streamDamagedInBackup(backup: string, problem: string, facts: Record<string, unknown> = {}): RastError {
  return new RastError(ErrorCode.STREAM_DAMAGED, `backup ${backup}: ${problem}`, { ...facts, backup, problem });
}

/** `error` (from {@link streamDamagedInBackup}) placed in the stored part `key`, labelled `part`, read from `sink`. */
export function streamDamagedInPart(error: RastError, part: string, key: string, sink: string | undefined): RastError {
  const { backup, problem } = error.facts;
  return new RastError(
    ErrorCode.STREAM_DAMAGED,
    `backup ${String(backup)}, ${part} (${key})${sink ? ` in sink ${sink}` : ''}: ${String(problem)}`,
    { ...error.facts, part: key, ...(sink ? { sink } : {}) },
    { cause: error },
  );
}
