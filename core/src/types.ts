import type { Exclusion } from './Exclusion.js';
import type { FileIndex, IndexEntry } from './FileIndex.js';
import type { IndexRecord } from './IndexRun.js';
import type { IndexSpool } from './IndexSpool.js';
import type { IndexView } from './IndexView.js';
import type { Manifest } from './Manifest.js';

/** A place that stores objects by key: a local directory, an S3 bucket, … Sinks know nothing of backups. */
export interface Sink {
  /** Unique among the configured sinks; used in messages and in `list`'s `sinks`. */
  readonly name: string;
  /** Human-readable location for messages (a path, `s3://bucket/prefix`). */
  readonly location: string;
  /** A local directory this sink writes into, so that sources can leave it out of backups. */
  readonly localPath?: string;
  /**
   * Stores `data` under `key` atomically: a reader sees the whole object or nothing. `data` is valid only until
   * the returned promise settles (create reuses its memory for a later part): copy what must be kept.
   * `options.durable`: the object must be durable once the promise resolves (create's manifest, the commit);
   * without it, a sink may defer making it durable to `flush()`.
   */
  put(key: string, data: Buffer, options?: PutOptions): Promise<void>;
  /** Reads a whole object into a buffer the caller owns (the sink keeps no reference); throws RastError PART_MISSING when absent. */
  get(key: string): Promise<Buffer>;
  /**
   * Optional: reads a whole object into the start of `into` (memory the caller reuses from object to object,
   * possibly shared with worker threads) and returns the object's size; when that size exceeds `into.length`,
   * returns it without the bytes (the caller sees the wrong size). Throws as `get`. Restore and verify read
   * each part with it when a sink has it (no new memory per part), else with `get`.
   */
  readInto?(key: string, into: Buffer): Promise<number>;
  /**
   * Optional: reads an object as a sequence of chunks, so that a copy holds a bounded piece of it at a time
   * (sync, copy, repair: see copyObject). Throws RastError PART_MISSING (on the first chunk) when absent.
   */
  read?(key: string): AsyncIterable<Buffer>;
  /**
   * Optional: stores the object `chunks` give (`size` bytes in all) under `key`, atomically: it appears only
   * once every chunk is written and the iteration ended without throwing; an error thrown by `chunks` (a copy
   * found damaged at its end) leaves the sink as it was, and is rethrown as it is.
   */
  write?(key: string, chunks: AsyncIterable<Buffer>, size: number, options?: PutOptions): Promise<void>;
  /** Lists objects whose key starts with `prefix`. */
  list(prefix: string): AsyncIterable<SinkObject>;
  /**
   * The same objects as `list(prefix)`, in key order, listed in ranges read at once, split at some of `known`
   * (keys under `prefix` seen before, in the order the sink sorts them: UTF-8 bytes). Any `known` gives every
   * object once, new ones included. For a remote store whose listing comes a page at a time; the catalog gives
   * the manifests it already holds.
   */
  listSplit?(prefix: string, known: readonly string[]): AsyncIterable<SinkObject>;
  /** Removes an object; absent objects are not an error. */
  delete(key: string): Promise<void>;
  /** Removes many objects at once (e.g. S3 DeleteObjects); without it, `delete` is called for each. */
  deleteMany?(keys: string[]): Promise<void>;
  /**
   * Makes every object put so far durable. `create` calls it before it commits a manifest, so a sink may
   * defer its fsyncs to here (objects without a manifest are garbage after a crash, never a backup).
   */
  flush?(): Promise<void>;
}

export interface PutOptions {
  /** Durable when put() resolves, not at the next flush(): set for a manifest, the commit point. */
  durable?: boolean;
}

export interface SinkObject {
  key: string;
  size: number;
  /** Where the store has one: a token that changes whenever the object's content does (S3's ETag). */
  version?: string;
}

/** A local directory a plugin keeps its own data in (see the `occupiedPaths` hook). */
export interface OccupiedPath {
  /** Absolute path. */
  path: string;
  /** What it holds, for messages (`btrfs snapshots`). */
  what: string;
}

/** What `create` asks the snapshot sources to handle. */
export interface SnapshotRequest {
  /** Absolute path given by the user, as an index path: bytes that are not UTF-8 escaped (use pathBytes for fs calls). */
  path: string;
  /** The parent backup, for an incremental backup. */
  parent?: Manifest;
  /** Backup id being created (snapshots are named after it). */
  backupId: string;
  /** The repository the backup goes into (Repository.id): a source that keeps state for later incrementals keeps it per repository. */
  repository: string;
  /** Absolute paths that must not be backed up (e.g. a local repository inside the source). */
  exclude: string[];
  /**
   * The user's exclude patterns, relative to `path`. A source either removes what they match from its snapshot
   * (marking the patterns it used) and leaves Snapshot.exclusion unset, or hands them on in Snapshot.exclusion.
   */
  exclusion: Exclusion;
}

/** What the `parent` hook is told about `create --parent latest`. */
export interface ParentRequest {
  /** Absolute source path being backed up. */
  path: string;
  /** The candidate parent's chain, from its full backup to it, oldest first; throws when the chain is broken. */
  chain(): Promise<Manifest[]>;
}

/** A consistent, read-only view of the source, produced by a snapshot source. */
export interface Snapshot {
  /** Directory to serialize (an index path, like SnapshotRequest.path). */
  path: string;
  /** The source as recorded in the manifest (canonical absolute path). */
  source: string;
  /** Which kind of source made it (`directory`, `btrfs`). */
  kind: string;
  /** Name of the format that serializes it. */
  format: string;
  /** Whether the view is atomic (a btrfs snapshot) or live (a plain directory). */
  atomic: boolean;
  /** Paths to leave out, as given in the request. */
  exclude: string[];
  /** Exclude patterns the format applies as it reads (relative to `path`); unset when the source applied them already. */
  exclusion?: Exclusion;
  /** Extra facts recorded in the manifest's `source`. */
  details?: Record<string, unknown>;
  /**
   * Where the source keeps its own view of the parent backup (a btrfs snapshot), for a format that serializes
   * the difference from it; unset for a full backup or a source without one. Not recorded.
   */
  parentView?: string;
  /** Called once the backup is committed or has failed. */
  release(outcome: 'committed' | 'failed'): Promise<void>;
}

/** Turns a snapshot into one byte stream and back; knows how to list and check its stream. */
export interface Format {
  readonly name: string;
  /** `name@version` of the plugin providing it, recorded in manifests. */
  readonly plugin: string;
  /** Version of the stream layout this format writes, recorded in manifests. */
  readonly version: number;
  serialize(context: SerializeContext): Serialization;
  restore(context: RestoreContext): Promise<RestoreReport>;
  /** Decodes a backup's stream end to end and checks it against its index; throws STREAM_DAMAGED. */
  verify(context: VerifyContext): Promise<void>;
  /**
   * For `create --dry-run`: what serialize would store, found without reading file content (a walk, a stream
   * without data). Without it, a dry run serializes the snapshot and counts the bytes.
   */
  survey?(context: SurveyContext): Promise<Survey>;
  /**
   * Optional (`repair`): builds a stored backup's file index again from its plaintext stream, as serialize
   * built it while the stream flowed. Throws a RastError saying why when this backup's stream cannot tell
   * its index; a format without it cannot have a lost index rebuilt.
   */
  reindex?(context: ReindexContext): Promise<RebuiltIndex>;
  /**
   * Optional: a quick estimate of the bytes of a full stream of the tree at `root` (`measureTree` and the bytes
   * the format adds per entry), for create's progress. Called beside the backup only when progress is shown.
   */
  estimate?(root: string, signal: AbortSignal): Promise<number | undefined>;
}

export interface SurveyContext extends SerializeContext {
  /** Fires when the dry run is interrupted: stop reading (and any tool started) and throw. */
  signal?: AbortSignal;
}

/** What a backup would hold (see Format.survey). */
export interface Survey {
  /** Regular files whose content would be stored: all of them for a full backup, the new and changed ones for an incremental. */
  files: number;
  /** Bytes of their content that would be stored (before compression). */
  bytes: number;
}

export interface ReindexContext {
  manifest: Manifest;
  /** The backup's plaintext stream, checked part by part; a chunk's memory is reused once the next is asked for (as RestoreContext.openStream). */
  stream: AsyncIterable<Buffer>;
  /** The parent's file index, for an incremental backup (as serialize had it). */
  parentIndex?: IndexView;
  log: Logger;
}

export interface RebuiltIndex {
  /** The index, in any form serialize may give it. */
  index: IndexOutput;
  /** What the stream does not hold that serialize's index did (e.g. `extended attributes`); absent: the same index. */
  lacks?: string;
}

export interface SerializeContext {
  snapshot: Snapshot;
  backupId: string;
  /**
   * The parent's file index, for an incremental backup: look paths up (get, children, subtree) or read it in
   * index order (from, all); only the blocks needed are read. load() reads it whole, in memory.
   */
  parentIndex?: IndexView;
  log: Logger;
}

/** A backup's bytes: exactly one of `stream` and `fill`. */
export interface Serialization {
  /** The bytes as a stream of chunks, which the core copies into parts. */
  stream?: AsyncIterable<Buffer>;
  /**
   * Or: fills `target` (a part's buffer) with the next bytes and returns how many, fewer than
   * `target.length` only at the end. Reading straight into the core's part buffers spares a copy and a
   * garbage-collected buffer per chunk. `target` is the core's again once the promise settles.
   */
  fill?(target: Buffer): Promise<number>;
  /** With `fill`: called when the create stops before the end, to stop whatever produces the bytes. */
  close?(): void;
  /** The backup's file index, whole or as its changes since the parent's; available once the stream has ended. */
  index(): IndexOutput | Promise<IndexOutput>;
  /**
   * Facts the format learned while serializing (the protocol it wrote, say), recorded in the manifest's `source`
   * over the snapshot's `details`; called once, after `index()`.
   */
  details?(): Record<string, unknown>;
}

/**
 * What a format tells of a backup's files: the whole index, in memory (any order), spooled or walked (in index
 * order, for any number of files); or, for an incremental, the changes to the parent's index.
 */
export type IndexOutput = FileIndex | SpooledIndex | WalkedIndex | IndexChanges;

/**
 * The whole index, in index order (comparePaths), made as it is read, once: a tree the format holds in bounded
 * memory, walked as its blocks are stored, without a spool between.
 */
export interface WalkedIndex {
  backupId: string;
  walk: Iterable<IndexEntry> | AsyncIterable<IndexEntry>;
}

/** The whole index, in index order (comparePaths), kept in a spool instead of memory. */
export interface SpooledIndex {
  backupId: string;
  spool: IndexSpool;
}

/**
 * Changes to the parent's index, in index order, one record per path (a tombstone for a path gone), and how
 * many entries the whole index now has.
 */
export interface IndexChanges {
  backupId: string;
  changes: IndexRecord[] | IndexSpool;
  entries: number;
}

export interface RestoreContext {
  /** Backups from the full one to the target, oldest first. */
  chain: Manifest[];
  target: Manifest;
  /** The target's file index: look paths up or read the part needed in index order; only the blocks needed are read. */
  index: IndexView;
  /** Absolute destination directory; exists and is empty. */
  destination: string;
  /** Patterns relative to the backup root; empty means everything. */
  include: string[];
  /**
   * The plaintext stream of one backup of the chain, checked part by part. A chunk's memory is reused for a
   * later part once the next chunk is asked for: a consumer that keeps bytes past that copies them.
   */
  openStream(manifest: Manifest): AsyncIterable<Buffer>;
  /**
   * Spans of one backup's plaintext stream (for partial restore), fetching only the parts that hold them;
   * one reader per backup for the whole restore, so parts already fetched are reused.
   */
  rangeReader(manifest: Manifest): StreamSpans;
  log: Logger;
}

/** Spans of one backup's plaintext stream, read on demand (the repository's is StreamRangeReader). */
export interface StreamSpans {
  /** Bytes [start, end) of the stream, in chunks. */
  read(start: number, end: number): AsyncIterable<Buffer>;
  /** Plaintext bytes fetched so far to serve the spans. */
  readonly fetchedBytes: number;
}

export interface RestoreReport {
  entries: number;
  bytes: number;
  /** What the destination could not hold (device nodes without root, xattrs unsupported, …): fails the restore unless accepted. */
  skipped: string[];
  /** Entries left owned by the restoring user, not root, because setting owners needs root: one warning, not a failure (as restic does). */
  ownersNotSet?: number;
}

export interface VerifyContext {
  manifest: Manifest;
  /** The backup's file index, read block by block (see IndexView). */
  index: IndexView;
  /** The backup's plaintext stream; a chunk's memory is reused once the next is asked for (as RestoreContext.openStream). */
  stream: AsyncIterable<Buffer>;
}

/**
 * One byte transformation applied to every part on create and undone on restore. A plugin describes it; the
 * core runs it. Its encoding is a worker stage (`worker`): a module the core loads in the threads of its one
 * worker pool, where create runs a part's whole chain of stages and its SHA-256 in one thread, in place, on
 * buffers it reuses (no copy between stages, memory that does not depend on garbage collection). The core's
 * main-thread adapter (`encodeHere`) runs the same stage on the calling thread. Transforms run in `stage`
 * order (TransformStage), lowest first, and are undone in reverse.
 */
export interface Transform {
  /** Name recorded in the manifest; restore looks up its decoder by this name. */
  readonly name: string;
  /** `name@version` of the plugin providing it, recorded in manifests. */
  readonly plugin: string;
  /** See TransformStage. */
  readonly stage: number;
  /** Parameters recorded in the manifest (level, key fingerprint, …). */
  readonly params: Record<string, unknown>;
  /** The encoding, as a stage the core runs in its worker threads. */
  readonly worker: TransformWorker;
}

/** See Transform.worker. */
export interface TransformWorker {
  /** URL of a module whose default export is a WorkerStageFactory. */
  readonly module: string;
  /** Handed (structured-cloned) to the module's factory, once per thread. */
  readonly options?: unknown;
  /** The most bytes the stage writes for `size` bytes of input. */
  bound(size: number): number;
  /**
   * Arguments for one part, made on the main thread (structured-cloned), e.g. a fresh session key. `object` is
   * where the output will be stored: a stage may bind its output to that key (the decoder gets it back).
   */
  prepare?(object: StoredObject): Promise<unknown>;
}

/** Default export of a TransformWorker module; runs in a worker thread. */
export type WorkerStageFactory = (options: unknown) => WorkerStage | Promise<WorkerStage>;
/**
 * Encodes `input` into `output` (bound(input.length) bytes, not overlapping `input`); returns the bytes written.
 * `collect` runs a minor garbage collection: a stage that leaves much garbage as it goes (e.g. a cipher's output
 * slices) calls it now and then, because V8 collects late in a thread that makes few JS objects.
 */
export type WorkerStage = (input: Buffer, output: Buffer, prepared: unknown, collect: () => void) => number;

/**
 * Undoes a transform recorded in a manifest, in the same shape as Transform: a worker stage the core runs in
 * its worker pool, one part at a time per stage (`decodeHere` runs it on the calling thread).
 */
export interface TransformDecoder {
  /** The decoding, as a stage the core runs in its worker threads. */
  readonly worker: DecoderWorker;
  /**
   * Optional: throws what decoding would throw for a reason of this host rather than of the data (a key it
   * lacks, locked or the wrong one), without any data. `verify` uses it to say what this host cannot check.
   */
  ready?(params: Record<string, unknown>): Promise<void>;
}

/** See TransformDecoder.worker. */
export interface DecoderWorker {
  /** URL of a module whose default export is a DecoderStageFactory. */
  readonly module: string;
  /** Handed (structured-cloned) to the module's factory, once per thread. */
  readonly options?: unknown;
  /**
   * Arguments for one part, made on the main thread (structured-cloned) from the stored bytes and the params
   * the manifest recorded, e.g. the session key a private key decrypts. A RastError it throws stops the read.
   * `object` is the key the data was read from (absent when the caller has none, e.g. a test of bare bytes).
   * `data` (and the stage's `input`) may be a view of shared memory the core reuses (Sink.readInto): WebCrypto
   * refuses those, so copy what is handed to it.
   */
  prepare?(data: Buffer, params: Record<string, unknown>, object?: StoredObject): Promise<unknown>;
  /**
   * Optional: the bytes beyond the `size` bytes of a part's plaintext that this decoder needs to decode in
   * place, its input lying at the end of its output memory (zstd's in-place margin; the trailer a decoder that
   * decodes within its input leaves after its output). When every decoder of a backup gives it, a whole-stream
   * read stores each object at the end of the part's reused memory and decodes it there: no memory per stored
   * object. Without it, a stage is never handed memory that overlaps its input.
   */
  headroom?(size: number): number;
}

/** Default export of a DecoderWorker module; runs in a worker thread. */
export type DecoderStageFactory = (options: unknown) => DecoderStage | Promise<DecoderStage>;
/**
 * Decodes `input` (which it may write over) and returns the result, in memory it does not keep: the core
 * moves that memory to the main thread. `output`, given to the last stage of a whole-stream read, is memory
 * the core reuses from part to part: a stage that can decode into it returns a view of it (no new memory);
 * one that cannot ignores it, and the core copies the result there. When the decoder gives `headroom`,
 * `input` may lie in `output`, at its end: the stage decodes in place, or copies its input first. Throws on damaged input; a RastError
 * keeps its code on the main thread. `collect` as for WorkerStage.
 */
export type DecoderStage = (input: Buffer, prepared: unknown, collect: () => void, output?: Buffer) => Uint8Array | Promise<Uint8Array>;

/** The object a part's encoded bytes are stored under (or were read from). */
export interface StoredObject {
  /** Its key in every sink (`data/<id>/000000.part`, `data/<id>/index`): names the backup and the position. */
  key: string;
}

/**
 * Signs new manifests (the `signer` hook): a plugin returns one with its key loaded and checked, and create
 * asks for it before it writes anything.
 */
export interface ManifestSigner {
  /** The signing key's primary fingerprint, upper-case hex. */
  readonly fingerprint: string;
  /** Its public key, armored: recorded in the manifest so that any reader can check the signature. */
  readonly publicKey: string;
  /** A detached signature of `data` (the manifest's exact bytes), as stored beside it. */
  sign(data: Buffer): Promise<Buffer>;
}

/** Checks manifests' signatures (the `verifier` hook); present whenever signing is on. */
export interface ManifestVerifier {
  /**
   * Checks the detached `signature` over `data` with the key `manifest.signer` names (its fingerprint must be
   * that key's): resolves to the signer's fingerprint, rejects with why it is not a good signature.
   */
  check(data: Buffer, signature: Buffer, manifest: Manifest): Promise<string>;
  /** Undefined when the config trusts `fingerprint`, else why not (naming the key and the setting). */
  distrust(fingerprint: string): string | undefined;
}

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
}

export type Operation = 'create' | 'restore' | 'verify' | 'delete' | 'prune' | 'repair' | 'sync' | 'copy';

/** Passed to the lifecycle hooks. */
export interface OperationEvent {
  operation: Operation;
  /** Backup id when known (the one created, restored, verified or deleted). */
  backupId?: string;
  /** Source path (create) or destination (restore). */
  path?: string;
  /** Name and tags of the backup being created (create). */
  name?: string | null;
  tags?: string[];
  startedAt: Date;
}

export interface PartEvent {
  backupId: string;
  seq: number;
  /** Plaintext bytes of this part. */
  size: number;
  storedSize: number;
}
