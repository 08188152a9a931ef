import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { limitYoungGeneration } from '@rast-backup/core/allocator-growth';
import { compareNames, Exclusion, indexPath } from '@rast-backup/core/worker';
import type { EntryStats } from './EntryStats.js';
import { readXattrs, type XattrFailure } from './ExtendedAttributes.js';
import { statsColumn } from './StatsColumns.js';
import { willNeed } from './PageCacheHint.js';

// A worker thread's start sets V8's flags back to their defaults, for the whole process: set again here.
limitYoungGeneration();

/** Files up to this size are read whole by the reader thread (a copy of FileContent's SMALL_FILE). */
const SMALL_FILE = 128 * 1024;
/** Small files open at once, their reads in flight together (see willNeed). */
const OPEN_AT_ONCE = 64;

export interface ReadRequest {
  id: number;
  /** Entries to read… */
  paths?: Uint8Array[];
  /** …or a directory to list, reading each of its entries… */
  directory?: Uint8Array;
  /** …whose path relative to the walk's root (an index path) the exclude patterns are matched against. */
  relative?: string;
  /** Read symlink targets, xattrs and small files' content too (up to `contentBudget` bytes of content). */
  details: boolean;
  contentBudget: number;
}

export interface ReadResponse {
  id: number;
  /** The directory's listing failed. */
  error?: Failure;
  /** The entries of `paths`, in order; or the directory's, in index order (by name), with their names, but for those excluded… */
  entries: ReadEntry[];
  /** …which are only counted, per exclude pattern (by its index), and neither stat'ed nor read. */
  excluded?: number[];
}

/** A listing's names as one buffer, where each ends in `nameEnds` (see nameAt). */
export interface PackedNames {
  names?: Uint8Array;
  nameEnds?: Uint32Array;
}

/**
 * A response as a thread sends it: the entries' stats as one column (see StatsColumns) and a listing's names
 * packed; EntryReader puts the stats back on the entries.
 */
export interface SentResponse extends ReadResponse, PackedNames {
  stats: BigInt64Array;
}

/** What a reader thread is started with. */
export interface ReaderData {
  /** Exclude patterns (see Exclusion): entries they match are left out of listings. */
  exclude: string[];
}

export interface Failure {
  message: string;
  code?: string;
}

export interface ReadEntry {
  /** In a directory's listing: the entry's name as an index path (see IndexPath), by which the listing is sorted (its bytes: nameAt). */
  text?: string;
  stats?: EntryStats;
  error?: Failure;
  /** Whether the details below were read. */
  detailed?: boolean;
  target?: Uint8Array;
  xattrs?: Record<string, string>;
  /** xattrs that could not be read (see ExtendedAttributes). */
  xattrFailures?: XattrFailure[];
  content?: Uint8Array;
  shrank?: boolean;
  /** The file could not be opened. */
  unreadable?: Failure;
}

const exclusion = new Exclusion((workerData as ReaderData | undefined)?.exclude ?? []);

const failure = (error: unknown): Failure => ({ message: (error as Error).message, code: (error as NodeJS.ErrnoException).code });
/** A small file opened for its content, its read hinted (see willNeed). */
interface Opened {
  entry: ReadEntry;
  fd: number;
  size: number;
}

/** `size` bytes of an open file into `data`: cut where it grew, zero-padded where it shrank. Closes it. */
function contentOf({ fd, size }: Opened, data: Buffer): { content: Uint8Array; shrank: boolean } {
  try {
    let done = 0;
    while (done < size) {
      const bytesRead = readSync(fd, data, done, size - done, done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    if (done < size) data.fill(0, done);
    return { content: data, shrank: done < size };
  } finally {
    closeSync(fd);
  }
}

/** An entry's lstat and details; `opened` gets the small file whose content is to be read, already open. */
function readEntry(path: Buffer, request: ReadRequest, budget: { left: number }, opened: Opened[]): ReadEntry {
  let stats: EntryStats;
  try {
    stats = lstatSync(path, { bigint: true });
  } catch (error) {
    return { error: failure(error) };
  }
  const format = stats.mode & 0o170000n;
  if (!request.details || format === 0o140000n) return { stats };
  const entry: ReadEntry = { stats, detailed: true };
  if (format === 0o120000n) {
    try {
      entry.target = Uint8Array.from(readlinkSync(path, { encoding: 'buffer' }));
    } catch (error) {
      return { error: failure(error) };
    }
  }
  const { xattrs, failures } = readXattrs(path);
  if (xattrs) entry.xattrs = xattrs;
  if (failures) entry.xattrFailures = failures;
  const size = Number(stats.size);
  if (format === 0o100000n && stats.nlink === 1n && size <= SMALL_FILE && stats.blocks * 512n >= stats.size && size <= budget.left) {
    try {
      const fd = openSync(path, 'r');
      if (size > 0) willNeed(fd, size);
      opened.push({ entry, fd, size });
      budget.left -= size;
      if (opened.length >= OPEN_AT_ONCE) readContents(opened);
    } catch (error) {
      entry.unreadable = failure(error);
    }
  }
  return entry;
}

/**
 * Reads the content of the files `readEntry` opened, whose reads are in flight together, into one buffer: one
 * allocation and one transferred buffer for them all, not one per file.
 */
function readContents(opened: Opened[]): void {
  const files = opened.splice(0);
  if (files.length === 0) return;
  // Not from Buffer's shared pool: a transferred buffer is taken away whole.
  const slab = Buffer.allocUnsafeSlow(files.reduce((sum, file) => sum + file.size, 0));
  let at = 0;
  for (const file of files) {
    const data = slab.subarray(at, (at += file.size));
    try {
      Object.assign(file.entry, contentOf(file, data));
    } catch (error) {
      file.entry.unreadable = failure(error);
    }
  }
}

const bytesOf = (data: Uint8Array) => Buffer.from(data.buffer, data.byteOffset, data.byteLength);

/** The entries' stats as a column, taken off them. */
function sent(response: ReadResponse, names?: Buffer[]): SentResponse {
  const stats = statsColumn(response.entries.map((entry) => entry.stats));
  for (const entry of response.entries) delete entry.stats;
  if (!names) return { ...response, stats };
  const nameEnds = new Uint32Array(names.length);
  let end = 0;
  names.forEach((name, at) => (nameEnds[at] = end += name.length));
  // Not from Buffer's shared pool: a transferred buffer is taken away whole.
  const packed = Buffer.allocUnsafeSlow(end);
  names.forEach((name, at) => name.copy(packed, nameEnds[at]! - name.length));
  return { ...response, stats, names: packed, nameEnds };
}

function respond(request: ReadRequest): SentResponse {
  const budget = { left: request.contentBudget };
  const opened: Opened[] = [];
  if (request.paths) {
    const entries = request.paths.map((path) => readEntry(bytesOf(path), request, budget, opened));
    readContents(opened);
    return sent({ id: request.id, entries });
  }
  const directory = bytesOf(request.directory!);
  let names: Buffer[];
  try {
    names = readdirSync(directory, { encoding: 'buffer' });
  } catch (error) {
    return sent({ id: request.id, error: failure(error), entries: [] });
  }
  const separator = Buffer.from(directory.at(-1) === 0x2f ? '' : '/');
  let excluded: number[] | undefined;
  if (!exclusion.empty && request.relative !== undefined) {
    const prefix = request.relative === '.' ? '' : `${request.relative}/`;
    names = names.filter((name) => {
      const match = exclusion.matchOf(prefix + indexPath(name));
      if (match < 0) return true;
      excluded ??= exclusion.patterns.map(() => 0);
      excluded[match]!++;
      return false;
    });
  }
  const named = names.map((name) => ({ name, text: indexPath(name) })).sort((a, b) => compareNames(a.text, b.text));
  const entries = named.map(({ name, text }) => {
    const entry = readEntry(Buffer.concat([directory, separator, name]), request, budget, opened);
    entry.text = text;
    return entry;
  });
  readContents(opened);
  const sorted = named.map(({ name }) => name);
  return sent(excluded ? { id: request.id, entries, excluded } : { id: request.id, entries }, sorted);
}

/**
 * Entries read before the responses so far go back: the walk waits for the first listing of a batch, not its last
 * (a batch's listings in one message, refilled at half a window: a cold incremental of 100,000 files took 1.16×), and a message
 * costs a wake-up of the walk's thread, so not one per listing.
 */
const ENTRIES_PER_MESSAGE = 256;

function post(responses: SentResponse[]): void {
  const transfer = new Set<ArrayBuffer>();
  for (const response of responses) {
    transfer.add(response.stats.buffer as ArrayBuffer);
    if (response.names) transfer.add(response.names.buffer as ArrayBuffer);
    // Files read together share one buffer (see readContents).
    for (const entry of response.entries) if (entry.content) transfer.add(entry.content.buffer as ArrayBuffer);
  }
  parentPort!.postMessage(responses, [...transfer]);
}

parentPort!.on('message', (requests: ReadRequest[]) => {
  let responses: SentResponse[] = [];
  let entries = 0;
  for (const request of requests) {
    const response = respond(request);
    responses.push(response);
    entries += response.entries.length;
    if (entries < ENTRIES_PER_MESSAGE) continue;
    post(responses);
    responses = [];
    entries = 0;
  }
  if (responses.length > 0) post(responses);
});
