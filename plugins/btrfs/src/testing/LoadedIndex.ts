import { IndexView, isTombstone, MemoryRun, type FileIndex, type IndexOutput, type IndexRecord } from '@rast-backup/core';

/**
 * A format's index output as the whole index in memory (the parent's view with the changes over it), for
 * tests and the lab. Checks the entry count the output gives.
 */
export async function loadedIndex(output: IndexOutput, parent?: IndexView): Promise<FileIndex> {
  if ('format' in output) return output;
  const records: IndexRecord[] = [];
  const source =
    'walk' in output
      ? output.walk
      : 'spool' in output
        ? output.spool.records()
        : Array.isArray(output.changes)
          ? output.changes
          : output.changes.records();
  for await (const record of source) records.push(record);
  if ('spool' in output || 'walk' in output) {
    if (records.some(isTombstone)) throw new Error('a whole index holds a tombstone');
    return new IndexView(output.backupId, [new MemoryRun(output.backupId, records)], records.length).load();
  }
  if (!parent) throw new Error('changes to an index need the parent index');
  const index = await new IndexView(output.backupId, [new MemoryRun(output.backupId, records), ...parent.layers], output.entries).load();
  if (index.entries.length !== output.entries)
    throw new Error(`the changes count ${output.entries} entries, the index has ${index.entries.length}`);
  return index;
}
