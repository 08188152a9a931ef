import { storedEntry, type IndexEntry } from './FileIndex.js';
import type { RunCopy } from './IndexCache.js';
import { comparePaths } from './IndexOrder.js';
import {
  encodeBlock,
  encodeRunHeader,
  isTombstone,
  MemoryRun,
  type IndexBlock,
  type IndexRecord,
  type IndexRunHeader,
} from './IndexRun.js';
import { IndexView } from './IndexView.js';
import type { PartRecord } from './Manifest.js';
import type { IndexSpool } from './IndexSpool.js';
import type { IndexChanges, IndexOutput } from './types.js';
import { RepositoryKeys } from './RepositoryKeys.js';

/** Plaintext bytes per index block: a lookup reads and decodes one block per layer. */
export const INDEX_BLOCK_BYTES = 512 * 1024;
/** At most this many runs make an index; the next backup then merges the runs above the bottom one with its changes into one. */
export const MAX_INDEX_LAYERS = 8;

/** Stores a plaintext object through the backup's transforms in every sink; returns its record. */
export type StoreObject = (key: string, plain: Buffer) => Promise<PartRecord>;

export interface WrittenIndex {
  /** The header object's record, for the manifest. */
  record: PartRecord & { entries: number };
  header: IndexRunHeader;
}

/** Stores sorted records as one run: blocks of about `blockBytes` (tests make them small), then the header that lists them. */
export async function writeRun(
  facts: { id: string; over: string | null; entries: number; layers: number },
  records: Iterable<IndexRecord> | AsyncIterable<IndexRecord>,
  store: StoreObject,
  copy?: RunCopy,
  blockBytes = INDEX_BLOCK_BYTES,
): Promise<WrittenIndex> {
  const blocks: IndexBlock[] = [];
  let pending: IndexRecord[] = [];
  let bytes = 0;
  const flush = async () => {
    if (pending.length === 0) return;
    const plain = encodeBlock(pending);
    const stored = await store(RepositoryKeys.indexBlock(facts.id, blocks.length), plain);
    await copy?.add(plain);
    blocks.push({ ...stored, first: pending[0]!.path, records: pending.length });
    pending = [];
    bytes = 0;
  };
  let count = 0;
  for await (const record of records) {
    count++;
    pending.push(record);
    bytes += record.path.length * 2 + 200;
    if (bytes >= blockBytes) await flush();
  }
  await flush();
  const { id, over, layers } = facts;
  // A run alone holds the whole index: its entries are its records.
  const entries = over === null ? count : facts.entries;
  const header: IndexRunHeader = { format: 'rast-backup/index', version: 2, backupId: id, over, entries, layers, blocks };
  const plain = encodeRunHeader(header);
  const record = await store(RepositoryKeys.index(id), plain);
  await copy?.finish(plain);
  return { record: { ...record, entries }, header };
}

const same = (a: IndexEntry, b: IndexEntry): boolean => JSON.stringify(storedEntry(a)) === JSON.stringify(storedEntry(b));

/** The records that turn `base` into `view`, both read in index order, and how many entries `view` has. */
async function difference(view: IndexView, base: IndexView): Promise<{ records: IndexRecord[]; entries: number }> {
  const records: IndexRecord[] = [];
  let entries = 0;
  const older = base.all();
  let old = await older.next();
  for await (const entry of view.all()) {
    entries++;
    for (; !old.done && comparePaths(old.value.path, entry.path) < 0; old = await older.next())
      records.push({ path: old.value.path, deleted: true });
    if (!old.done && old.value.path === entry.path) {
      if (!same(entry, old.value)) records.push(entry);
      old = await older.next();
    } else records.push(entry);
  }
  for (; !old.done; old = await older.next()) records.push({ path: old.value.path, deleted: true });
  return { records, entries };
}

/**
 * Stores backup `id`'s file index: as the changes since its parent's index (one more layer), as every
 * change since the parent's bottom run once MAX_INDEX_LAYERS would be passed, or alone (a full backup, a
 * parent with a version 1 index, or changes to more than half of the entries).
 */
export async function writeIndex(
  id: string,
  output: IndexOutput,
  parent: IndexView | undefined,
  store: StoreObject,
  copy?: RunCopy,
  blockBytes = INDEX_BLOCK_BYTES,
): Promise<WrittenIndex> {
  if ('changes' in output) return writeChanges(id, output, parent, store, copy, blockBytes);
  if ('spool' in output) return writeRun({ id, over: null, entries: 0, layers: 1 }, output.spool.records(), store, copy, blockBytes);
  const given = output.entries;
  const entries = isSorted(given) ? given : [...given].sort((a, b) => comparePaths(a.path, b.path));
  const full = () => writeRun({ id, over: null, entries: entries.length, layers: 1 }, entries, store, copy, blockBytes);
  const bottom = parent?.layers.at(-1);
  if (!parent || !bottom || bottom instanceof MemoryRun) return full();
  const base = parent.layers.length < MAX_INDEX_LAYERS ? parent : new IndexView(bottom.backupId, [bottom], 0);
  const { records } = await difference(new IndexView(id, [new MemoryRun(id, entries)], entries.length), base);
  if (records.length > entries.length / 2) return full();
  return writeRun({ id, over: base.backupId, entries: entries.length, layers: base.layers.length + 1 }, records, store, copy, blockBytes);
}

/** `newer` over `older` (both records in index order): for a path both hold, newer's record. */
async function* overlay(newer: AsyncIterable<IndexRecord>, older: AsyncIterable<IndexRecord>): AsyncGenerator<IndexRecord> {
  const a = newer[Symbol.asyncIterator]();
  const b = older[Symbol.asyncIterator]();
  let next = await a.next();
  let old = await b.next();
  while (!next.done || !old.done) {
    const order = next.done ? 1 : old.done ? -1 : comparePaths(next.value.path, old.value.path);
    if (order <= 0) {
      yield next.value as IndexRecord;
      if (order === 0) old = await b.next();
      next = await a.next();
    } else {
      yield old.value as IndexRecord;
      old = await b.next();
    }
  }
}

async function* entriesOf(records: AsyncIterable<IndexRecord>): AsyncGenerator<IndexEntry> {
  for await (const record of records) if (!isTombstone(record)) yield record;
}

/**
 * A format's changes to the parent's index, streamed from its spool: one more layer over the parent's; or,
 * when that would pass MAX_INDEX_LAYERS, merged with the parent's layers above its bottom run into one run
 * over the bottom run (reading only those runs, which hold the changes since the bottom run); or the whole
 * index alone, when the changes since the bottom run would outnumber half of the entries.
 */
async function writeChanges(
  id: string,
  output: IndexChanges,
  parent: IndexView | undefined,
  store: StoreObject,
  copy?: RunCopy,
  blockBytes = INDEX_BLOCK_BYTES,
): Promise<WrittenIndex> {
  if (!parent) throw new Error('a format gave changes to the index of a backup without a parent');
  const bottom = parent.layers.at(-1)!;
  const changes = output.changes;
  const count = Array.isArray(changes) ? changes.length : (changes as IndexSpool).count;
  const records = (): AsyncIterable<IndexRecord> =>
    Array.isArray(changes) ? toAsync(changes as IndexRecord[]) : (changes as IndexSpool).records();
  const above = parent.layers.slice(0, -1);
  const sinceBottom = count + above.reduce((sum, run) => sum + run.records, 0);
  if (bottom instanceof MemoryRun || sinceBottom > output.entries / 2)
    return writeRun({ id, over: null, entries: 0, layers: 1 }, entriesOf(overlay(records(), parent.records())), store, copy, blockBytes);
  if (parent.layers.length < MAX_INDEX_LAYERS)
    return writeRun(
      { id, over: parent.backupId, entries: output.entries, layers: parent.layers.length + 1 },
      records(),
      store,
      copy,
      blockBytes,
    );
  const merged = overlay(records(), new IndexView(parent.backupId, above, 0).records());
  return writeRun({ id, over: bottom.backupId, entries: output.entries, layers: 2 }, merged, store, copy, blockBytes);
}

async function* toAsync<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

function isSorted(entries: readonly IndexEntry[]): boolean {
  for (let at = 1; at < entries.length; at++) if (comparePaths(entries[at - 1]!.path, entries[at]!.path) >= 0) return false;
  return true;
}
