import { ErrorCode, RastError } from './errors.js';
import type { Sink } from './types.js';

/** Removes `keys` from `sink`: in batches where the sink offers them (S3 DeleteObjects), else one by one. */
export async function deleteKeys(sink: Sink, keys: string[]): Promise<void> {
  if (keys.length === 0) return;
  if (sink.deleteMany) await sink.deleteMany(keys);
  else for (const key of keys) await sink.delete(key);
}

/** The object at `key` in `sink`, or undefined where the sink does not hold it; other failures are thrown. */
export async function getOptional(sink: Sink, key: string): Promise<Buffer | undefined> {
  try {
    return await sink.get(key);
  } catch (error) {
    if (error instanceof RastError && error.code === ErrorCode.PART_MISSING) return undefined;
    throw error;
  }
}
