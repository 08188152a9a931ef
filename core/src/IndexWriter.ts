import { storedEntry, type IndexEntry } from './FileIndex.js';
import type { RunCopy } from './IndexCache.js';
import { comparePaths } from './IndexOrder.js';
import {
  encodeLine,
  encodeLines,
  encodeRunHeader,
  MemoryRun,
  pathOfLine,
  type IndexBlock,
  type IndexRecord,
  type IndexRunHeader,
} from './IndexRun.js';
import { IndexView, type RecordLine } from './IndexView.js';
import { chooseLayering } from './IndexLayering.js';
import type { PartRecord } from './Manifest.js';
import { NAMES_ERROR, storeNames } from './BlockNames.js';
import type { IndexSpool } from './IndexSpool.js';
import type { IndexOutput } from './types.js';
import { RepositoryKeys } from './RepositoryKeys.js';
import { collectIfGrown } from './GarbageBudget.js';

/** Plaintext bytes per index block: a lookup reads and decodes one block per layer. */
export const INDEX_BLOCK_BYTES = 512 * 1024;
export { MAX_INDEX_LAYERS } from './IndexLayering.js';

/** Stores a plaintext object through the backup's transforms in every sink; returns its record. */
export type StoreObject = (key: string, plain: Buffer) => Promise<PartRecord>;

export interface WrittenIndex {
  /** The header object's record, for the manifest. */
  record: PartRecord & { entries: number };
  header: IndexRunHeader;
}

/**
 * Stores sorted records as one run: blocks of about `blockBytes` (tests make them small), then the header that
 * lists them, each with the filter of its names at false-positive rate `namesError` (null: none, as runs written
 * before filters were; tests use it).
 */
export async function writeRun(
  facts: { id: string; over: string | null; entries: number; layers: number },
  records: Iterable<IndexRecord> | AsyncIterable<IndexRecord>,
  store: StoreObject,
  copy?: RunCopy,
  blockBytes = INDEX_BLOCK_BYTES,
  namesError: number | null = NAMES_ERROR,
): Promise<WrittenIndex> {
  const run = new RunBlocks(facts.id, store, copy, blockBytes, namesError);
  for await (const record of records) await run.add(encodeLine(record), record.path);
  return run.finish(facts);
}

/** writeRun from the records' lines (encodeLine): a spool's lines are stored as they are, not parsed and encoded again. */
async function writeLines(
  facts: { id: string; over: string | null; entries: number; layers: number },
  recordLines: AsyncIterable<RecordLine>,
  store: StoreObject,
  copy?: RunCopy,
  blockBytes = INDEX_BLOCK_BYTES,
  namesError: number | null = NAMES_ERROR,
): Promise<WrittenIndex> {
  const run = new RunBlocks(facts.id, store, copy, blockBytes, namesError);
  for await (const { line, path } of recordLines) await run.add(line, path);
  return run.finish(facts);
}

/** Lines from encodeLine (a spool's), with their paths. */
async function* withPaths(lines: AsyncIterable<string>): AsyncGenerator<RecordLine> {
  for await (const line of lines) yield { path: pathOfLine(line), line };
}

/** Blocks stored at once: the next block is made while the one before it is encoded and stored. */
const BLOCKS_IN_FLIGHT = 2;

/** A run's blocks as its lines come, in order; then its header. */
class RunBlocks {
  private readonly blocks: Array<IndexBlock | undefined> = [];
  private readonly storing: Array<Promise<void>> = [];
  private copying: Promise<void> = Promise.resolve();
  // A block is kept as its lines and paths while it fills, not as records: nothing of a record outlives its line.
  private lines: Array<string | Buffer> = [];
  private paths: string[] = [];
  private bytes = 0;
  private count = 0;

  constructor(
    private readonly id: string,
    private readonly store: StoreObject,
    private readonly copy: RunCopy | undefined,
    private readonly blockBytes: number,
    private readonly namesError: number | null,
  ) {}

  /** Adds a record's line (encodeLine) and its path; resolves when the run can take more. */
  async add(line: string | Buffer, path: string): Promise<void> {
    this.count++;
    this.lines.push(line);
    this.paths.push(path);
    this.bytes += path.length * 2 + 200;
    if (this.bytes >= this.blockBytes) await this.flush();
  }

  private async flush(): Promise<void> {
    const { lines, paths } = this;
    if (lines.length === 0) return;
    // What made the block's records (a walk's entries, a merge's lines) outlived the small young generation.
    collectIfGrown();
    const plain = encodeLines(lines);
    // A path read from a line may be a slice of the spool's whole chunk: the header keeps a copy, not the chunk.
    const [first, count] = [JSON.parse(JSON.stringify(paths[0]!)) as string, lines.length];
    const names = this.namesError === null ? undefined : storeNames(paths, this.namesError);
    this.lines = [];
    this.paths = [];
    this.bytes = 0;
    const number = this.blocks.length;
    this.blocks.push(undefined);
    const copy = this.copy;
    if (copy) this.copying = this.copying.then(() => copy.add(plain));
    const storing = this.store(RepositoryKeys.indexBlock(this.id, number), plain).then((stored) => {
      const block: IndexBlock = { ...stored, first, records: count };
      if (names) block.names = names;
      this.blocks[number] = block;
    });
    storing.catch(() => {});
    this.storing.push(storing);
    if (this.storing.length >= BLOCKS_IN_FLIGHT) await this.settled(this.storing.length - BLOCKS_IN_FLIGHT + 1);
  }

  /** Waits for the oldest `count` stores; at a failure, for all of them, then throws it. */
  private async settled(count: number): Promise<void> {
    try {
      for (; count > 0; count--) await this.storing.shift();
    } catch (error) {
      await Promise.allSettled(this.storing);
      throw error;
    }
  }

  async finish(facts: { id: string; over: string | null; entries: number; layers: number }): Promise<WrittenIndex> {
    await this.flush();
    await this.settled(this.storing.length);
    await this.copying;
    const { id, over, layers } = facts;
    // A run alone holds the whole index: its entries are its records.
    const entries = over === null ? this.count : facts.entries;
    const header: IndexRunHeader = {
      format: 'rast-backup/index',
      version: 2,
      backupId: id,
      over,
      entries,
      layers,
      blocks: this.blocks as IndexBlock[],
    };
    const plain = encodeRunHeader(header);
    const record = await this.store(RepositoryKeys.index(id), plain);
    await this.copy?.finish(plain);
    return { record: { ...record, entries }, header };
  }
}

const same = (a: IndexEntry, b: IndexEntry): boolean => JSON.stringify(storedEntry(a)) === JSON.stringify(storedEntry(b));

/** The records that turn `base` into `view`, both read in index order. */
async function* difference(view: IndexView, base: IndexView): AsyncGenerator<IndexRecord> {
  const older = base.all();
  let old = await older.next();
  for await (const entry of view.all()) {
    for (; !old.done && comparePaths(old.value.path, entry.path) < 0; old = await older.next())
      yield { path: old.value.path, deleted: true };
    if (!old.done && old.value.path === entry.path) {
      if (!same(entry, old.value)) yield entry;
      old = await older.next();
    } else yield entry;
  }
  for (; !old.done; old = await older.next()) yield { path: old.value.path, deleted: true };
}

/**
 * Stores backup `id`'s file index as one run, chosen by the layering policy (IndexLayering.ts): the changes
 * since its parent's index, merged with the parent's newest runs when they are small beside the run below
 * them; or alone (a full backup, a parent with a version 1 index, or too many changes since the bottom run).
 */
export async function writeIndex(
  id: string,
  output: IndexOutput,
  parent: IndexView | undefined,
  store: StoreObject,
  copy?: RunCopy,
  blockBytes = INDEX_BLOCK_BYTES,
  namesError: number | null = NAMES_ERROR,
): Promise<WrittenIndex> {
  if ('changes' in output) {
    if (!parent) throw new Error('a format gave changes to the index of a backup without a parent');
    const changes = output.changes;
    const records = (): AsyncIterable<IndexRecord> =>
      Array.isArray(changes) ? toAsync(changes as IndexRecord[]) : (changes as IndexSpool).records();
    const count = Array.isArray(changes) ? changes.length : (changes as IndexSpool).count;
    const lines = Array.isArray(changes) ? undefined : () => (changes as IndexSpool).lines();
    return writeChanges(id, { count, records, lines, entries: output.entries }, parent, store, copy, blockBytes, namesError);
  }
  if ('walk' in output) return writeRun({ id, over: null, entries: 0, layers: 1 }, output.walk, store, copy, blockBytes, namesError);
  if ('spool' in output)
    return writeLines({ id, over: null, entries: 0, layers: 1 }, withPaths(output.spool.lines()), store, copy, blockBytes, namesError);
  const given = output.entries;
  const entries = isSorted(given) ? given : [...given].sort((a, b) => comparePaths(a.path, b.path));
  const bottom = parent?.layers.at(-1);
  if (!parent || !bottom || bottom instanceof MemoryRun)
    return writeRun({ id, over: null, entries: entries.length, layers: 1 }, entries, store, copy, blockBytes, namesError);
  const records: IndexRecord[] = [];
  for await (const record of difference(new IndexView(id, [new MemoryRun(id, entries)], entries.length), parent)) records.push(record);
  return writeChanges(
    id,
    { count: records.length, records: () => toAsync(records), entries: entries.length },
    parent,
    store,
    copy,
    blockBytes,
    namesError,
  );
}

/**
 * `newer` over `older` (both in index order): for a path both hold, newer's record. Records go as their lines:
 * a merge of stored runs copies their lines, it does not parse them.
 */
async function* overlayLines(newer: AsyncIterable<RecordLine>, older: AsyncIterable<RecordLine>): AsyncGenerator<RecordLine> {
  const a = newer[Symbol.asyncIterator]();
  const b = older[Symbol.asyncIterator]();
  try {
    let next = await a.next();
    let old = await b.next();
    while (!next.done || !old.done) {
      const order = next.done ? 1 : old.done ? -1 : comparePaths(next.value.path, old.value.path);
      if (order <= 0) {
        yield next.value as RecordLine;
        if (order === 0) old = await b.next();
        next = await a.next();
      } else {
        yield old.value as RecordLine;
        old = await b.next();
      }
    }
  } finally {
    // A write that failed stops here: the layers' readers give their blocks back, a spool closes its file.
    await a.return?.();
    await b.return?.();
  }
}

/** encodeLine's line of a tombstone ends so, and no entry's does (an entry has no `deleted`). */
const TOMBSTONE_END = ',"deleted":true}';
const TOMBSTONE_END_BYTES = Buffer.from(TOMBSTONE_END);

function isTombstoneLine(line: string | Buffer): boolean {
  if (typeof line === 'string') return line.endsWith(TOMBSTONE_END);
  return line.length >= TOMBSTONE_END_BYTES.length && line.subarray(-TOMBSTONE_END_BYTES.length).equals(TOMBSTONE_END_BYTES);
}

async function* entryLines(lines: AsyncIterable<RecordLine>): AsyncGenerator<RecordLine> {
  for await (const record of lines) if (!isTombstoneLine(record.line)) yield record;
}

interface Changes {
  /** How many records `records` gives. */
  count: number;
  /** The changes to the parent's index, in index order; may be read twice. */
  records: () => AsyncIterable<IndexRecord>;
  /** The same as their lines (encodeLine), when they are kept so (a spool). */
  lines?: () => AsyncIterable<string>;
  /** Entries in the backup's whole index. */
  entries: number;
}

/**
 * Changes to the parent's index, stored as the layering policy chooses: one more layer over the parent's;
 * merged with the parent's `merge` newest runs into one run over the next one (reading only those runs:
 * the changes since that one's backup); or the whole index alone.
 */
async function writeChanges(
  id: string,
  changes: Changes,
  parent: IndexView,
  store: StoreObject,
  copy?: RunCopy,
  blockBytes = INDEX_BLOCK_BYTES,
  namesError: number | null = NAMES_ERROR,
): Promise<WrittenIndex> {
  const layers = parent.layers;
  const layering =
    layers.at(-1) instanceof MemoryRun
      ? ({ alone: true } as const)
      : chooseLayering(
          changes.count,
          layers.map((run) => run.records),
          changes.entries,
        );
  const changed = changes.lines ? withPaths(changes.lines()) : linesOf(changes.records());
  if (layering.alone)
    return writeLines(
      { id, over: null, entries: 0, layers: 1 },
      entryLines(overlayLines(changed, parent.lines())),
      store,
      copy,
      blockBytes,
      namesError,
    );
  const { merge } = layering;
  const facts = { id, over: layers[merge]!.backupId, entries: changes.entries, layers: layers.length - merge + 1 };
  const lines = merge === 0 ? changed : overlayLines(changed, new IndexView(parent.backupId, layers.slice(0, merge), 0).lines());
  return writeLines(facts, lines, store, copy, blockBytes, namesError);
}

async function* linesOf(records: AsyncIterable<IndexRecord>): AsyncGenerator<RecordLine> {
  for await (const record of records) yield { path: record.path, line: encodeLine(record) };
}

async function* toAsync<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

function isSorted(entries: readonly IndexEntry[]): boolean {
  for (let at = 1; at < entries.length; at++) if (comparePaths(entries[at - 1]!.path, entries[at]!.path) >= 0) return false;
  return true;
}
