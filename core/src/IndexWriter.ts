import { storedEntry, type IndexEntry } from './FileIndex.js';
import type { RunCopy } from './IndexCache.js';
import { comparePaths } from './IndexOrder.js';
import { encodeBlock, encodeRunHeader, MemoryRun, type IndexBlock, type IndexRecord, type IndexRunHeader } from './IndexRun.js';
import { IndexView } from './IndexView.js';
import type { PartRecord } from './Manifest.js';
import { RepositoryKeys } from './RepositoryKeys.js';

/** Plaintext bytes per index block: a lookup reads and decodes one block per layer. */
export const INDEX_BLOCK_BYTES = 512 * 1024;
/** At most this many runs make an index; the next backup then stores every change since the bottom run in one. */
export const MAX_INDEX_LAYERS = 8;

/** Stores a plaintext object through the backup's transforms in every sink; returns its record. */
export type StoreObject = (key: string, plain: Buffer) => Promise<PartRecord>;

export interface WrittenIndex {
  /** The header object's record, for the manifest. */
  record: PartRecord & { entries: number };
  header: IndexRunHeader;
}

/** Stores sorted records as one run: blocks of about INDEX_BLOCK_BYTES, then the header that lists them. */
export async function writeRun(
  facts: { id: string; over: string | null; entries: number; layers: number },
  records: Iterable<IndexRecord>,
  store: StoreObject,
  copy?: RunCopy,
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
  for (const record of records) {
    pending.push(record);
    bytes += record.path.length * 2 + 200;
    if (bytes >= INDEX_BLOCK_BYTES) await flush();
  }
  await flush();
  const { id, over, entries, layers } = facts;
  const header: IndexRunHeader = { format: 'rast-backup/index', version: 2, backupId: id, over, entries, layers, blocks };
  const plain = encodeRunHeader(header);
  const record = await store(RepositoryKeys.index(id), plain);
  await copy?.finish(plain);
  return { record: { ...record, entries }, header };
}

const same = (a: IndexEntry, b: IndexEntry): boolean => JSON.stringify(storedEntry(a)) === JSON.stringify(storedEntry(b));

/** The records that turn `base` into `entries` (sorted): changed and new entries, and a tombstone for each path gone. */
async function changes(entries: readonly IndexEntry[], base: IndexView): Promise<IndexRecord[]> {
  const records: IndexRecord[] = [];
  let at = 0;
  for await (const old of base.all()) {
    for (; at < entries.length && comparePaths(entries[at]!.path, old.path) < 0; at++) records.push(entries[at]!);
    if (at < entries.length && entries[at]!.path === old.path) {
      if (!same(entries[at]!, old)) records.push(entries[at]!);
      at++;
    } else records.push({ path: old.path, deleted: true });
  }
  for (; at < entries.length; at++) records.push(entries[at]!);
  return records;
}

/**
 * Stores backup `id`'s file index, given whole: as the changes since its parent's index (one more layer),
 * as every change since the parent's bottom run once MAX_INDEX_LAYERS would be passed, or alone (a full
 * backup, a parent with a version 1 index, or changes of more than half of the entries).
 */
export async function writeIndex(
  id: string,
  given: readonly IndexEntry[],
  parent: IndexView | undefined,
  store: StoreObject,
  copy?: RunCopy,
): Promise<WrittenIndex> {
  const entries = isSorted(given) ? given : [...given].sort((a, b) => comparePaths(a.path, b.path));
  const full = () => writeRun({ id, over: null, entries: entries.length, layers: 1 }, entries, store, copy);
  const bottom = parent?.layers.at(-1);
  if (!parent || !bottom || bottom instanceof MemoryRun) return full();
  const base = parent.layers.length < MAX_INDEX_LAYERS ? parent : new IndexView(bottom.backupId, [bottom], 0);
  const records = await changes(entries, base);
  if (records.length > entries.length / 2) return full();
  return writeRun({ id, over: base.backupId, entries: entries.length, layers: base.layers.length + 1 }, records, store, copy);
}

function isSorted(entries: readonly IndexEntry[]): boolean {
  for (let at = 1; at < entries.length; at++) if (comparePaths(entries[at - 1]!.path, entries[at]!.path) >= 0) return false;
  return true;
}
