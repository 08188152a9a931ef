import type { Sink } from './types.js';

/** Removes `keys` from `sink`: in batches where the sink offers them (S3 DeleteObjects), else one by one. */
export async function deleteKeys(sink: Sink, keys: string[]): Promise<void> {
  if (keys.length === 0) return;
  if (sink.deleteMany) await sink.deleteMany(keys);
  else for (const key of keys) await sink.delete(key);
}
