import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { newBackupId } from '../BackupId.js';
import { ErrorCode, RastError } from '../errors.js';
import { Exclusion, excludePatternProblem } from '../Exclusion.js';
import { writeIndex } from '../IndexWriter.js';
import { displayPath, pathBytes } from '../IndexPath.js';
import { interrupted, stopIfInterrupted, whenInterrupted } from '../Interruption.js';
import type { Manifest, PartRecord } from '../Manifest.js';
import { signManifest } from '../ManifestSigning.js';
import { ParentResolver } from '../ParentResolver.js';
import { ProgressCounter } from '../Progress.js';
import { estimateCreate } from '../CreateEstimate.js';
import { cutIntoParts, fillParts } from '../PartSplitter.js';
import { PartEncoder } from '../PartEncoder.js';
import { RepositoryKeys } from '../RepositoryKeys.js';
import type { Runtime } from '../Runtime.js';
import { SinkFanout } from '../SinkFanout.js';
import { releaseThreadMemory } from '../WorkerPool.js';
import type { Format, Serialization, Snapshot, Transform } from '../types.js';
import { runOperation } from './lifecycle.js';
import {
  emptySource,
  excludePatternInvalid,
  formatMissing,
  formatSerializedNothing,
  noSourcePlugin,
  parentOtherFormat,
  sourceUnusable,
} from '../diagnostics/index.js';

export interface CreateOptions {
  /** The source: an index path (a name that is not UTF-8 as its escaped bytes, see IndexPath). */
  path: string;
  name?: string;
  tags?: string[];
  /** Parent backup: id, unique prefix or `latest` (the latest backup of the same source). */
  parent?: string;
  /** Exclude patterns besides `[backup] exclude` (relative to the source; the syntax of `restore --include`). */
  exclude?: string[];
  /** Stops the create (SIGINT, SIGTERM in the CLI): what it made so far is removed, and it throws INTERRUPTED. */
  signal?: AbortSignal;
}

/** `[backup] exclude` and then the create's own patterns, each once; a pattern that cannot be one is a USAGE error naming it. */
export function exclusionOf(runtime: Runtime, options: CreateOptions): Exclusion {
  const patterns = [...new Set([...runtime.settings.exclude, ...(options.exclude ?? [])])];
  for (const pattern of patterns) {
    const problem = excludePatternProblem(pattern);
    if (problem) throw excludePatternInvalid('exclude', pattern, problem);
  }
  return new Exclusion(patterns);
}

/** Warns of each pattern that left nothing out: it can never match in this source as written. */
export function warnUnmatched(runtime: Runtime, exclusion: Exclusion, sourcePath: string): void {
  for (const pattern of exclusion.unused()) {
    const relative = path.relative(sourcePath, path.resolve('/', pattern));
    const hint =
      pattern.startsWith('/') && !relative.startsWith('..') && relative !== ''
        ? ` (patterns are relative to the source: did you mean ${JSON.stringify(relative)}?)`
        : '';
    runtime.log.warn(`exclude pattern ${JSON.stringify(pattern)} matched nothing in ${displayPath(sourcePath)}${hint}`);
  }
}

/** `sourcePath` is an index path: a name that is not UTF-8 comes as its escaped bytes (see IndexPath). */
export async function checkSource(sourcePath: string): Promise<void> {
  const shown = displayPath(sourcePath);
  try {
    const stats = await stat(pathBytes(sourcePath));
    if (!stats.isDirectory()) throw sourceUnusable(shown, 'is not a directory');
    await access(pathBytes(sourcePath), constants.R_OK | constants.X_OK);
  } catch (error) {
    if (error instanceof RastError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable (permission denied)' : (error as Error).message;
    throw sourceUnusable(shown, reason);
  }
}

/**
 * snapshot → serialize → cut into parts → transform → store in every sink → index → manifest (commit).
 * Nothing is listed until the manifest is written; on failure the parts written so far are removed.
 *
 * Several sinks (SinkFanout): a sink that fails is dropped for the rest of this backup (a warning names it), the
 * others carry on. The manifest is committed in every sink that stored every part. If that is some but
 * not all sinks, the backup exists (in those) and this throws SINK_FAILED naming the sinks that failed
 * and the sinks that hold the backup; the failed sinks get no manifest, and their parts are removed
 * where that still works. If no sink stored every part, nothing is committed anywhere.
 *
 * Interrupted (options.signal) before the commit, it stops reading the source, removes what it wrote and the
 * snapshot, and throws INTERRUPTED; once the manifest is being written, it finishes.
 */
export async function createBackup(runtime: Runtime, options: CreateOptions): Promise<Manifest> {
  const { pipeline, repository, sinks, settings, log } = runtime;
  const { hooks } = pipeline;
  if (options.path.trim() === '') throw emptySource(options.path);
  const sourcePath = path.resolve(options.path);
  const exclusion = exclusionOf(runtime, options);
  const id = newBackupId();
  const { signal } = options;

  return runOperation(
    runtime,
    'create',
    { backupId: id, path: sourcePath, name: options.name ?? null, tags: options.tags ?? [] },
    async () => {
      // The signing key loads while the source and the parent are checked; without it no snapshot is taken.
      const loadingSigner = hooks.signer.promise();
      loadingSigner.catch(() => {});
      await checkSource(sourcePath);
      const parents = new ParentResolver(runtime);
      const parent = options.parent !== undefined ? await parents.resolve(options.parent, sourcePath) : undefined;
      const signer = await loadingSigner;
      // Opened while the snapshot is taken (its header, and those of the runs below it).
      const readingParentIndex = parent ? repository.indexes.open(parent, { kept: true }) : undefined;
      readingParentIndex?.catch(() => {});
      // Made while the snapshot is taken too (an encryption transform reads and checks its key), and so are the
      // threads of the worker pool that encodes the parts.
      const makingTransforms = hooks.transforms.promise([]);
      makingTransforms.then(
        () => PartEncoder.startThreads(),
        () => {},
      );
      if (signal?.aborted) throw interrupted(signal, `create of ${displayPath(sourcePath)}`, 'nothing was written');

      // snapshot
      const exclude = sinks.flatMap((sink) => (sink.localPath ? [sink.localPath] : []));
      const snapshot = await hooks.snapshot.promise({
        path: sourcePath,
        parent,
        backupId: id,
        repository: repository.id,
        exclude,
        exclusion,
      });
      if (!snapshot) throw noSourcePlugin(displayPath(sourcePath));

      const store = new SinkFanout(sinks, id, log);
      const progress = new ProgressCounter(hooks.progress, 'create', displayPath(sourcePath));
      const estimating = new AbortController();
      let manifest: Manifest;
      const indexCopy = runtime.indexCache.begin(id, (error) =>
        log.warn(`could not keep a copy of the file index of ${id}: ${error.message}`),
      );
      try {
        stopIfInterrupted(signal);
        // serialize
        const format = formatOf(runtime, snapshot, parent);
        if (progress.watched)
          estimateCreate(runtime, snapshot, format, parent, estimating.signal).then(
            (total) => total !== undefined && !estimating.signal.aborted && progress.setTotal(total, true),
            () => {},
          );
        const parentIndex = await readingParentIndex;
        const transforms = [...(await makingTransforms)].sort((a, b) => a.stage - b.stage);
        const encoder = new PartEncoder(transforms, settings.partSize, PartEncoder.slotsFor(settings.concurrency));
        const serialization = format.serialize({ snapshot, backupId: id, parentIndex, log });
        // parts → transform → store
        const plainParts = cutParts(serialization, format.name, snapshot, settings.partSize, encoder);
        const parts = await storeParts(
          runtime,
          id,
          plainParts,
          (key, plain) => transformAndStore(encoder, store, key, plain),
          signal,
          () => serialization.close?.(),
          progress,
        );
        estimating.abort();
        // index: the workers' part-sized scratch is let go first (a full backup's index is built on the main thread)
        await releaseThreadMemory();
        const written = await writeIndex(
          id,
          await serialization.index(),
          parentIndex,
          (key, plain) => transformAndStore(encoder, store, key, plain),
          indexCopy,
        );
        const indexRecord = written.record;
        warnUnmatched(runtime, exclusion, sourcePath);
        // commit: the signature, then the manifest
        const indexBlocks = written.header.blocks;
        const details = { ...snapshot.details, ...serialization.details?.() };
        const built = hooks.manifest.call(
          buildManifest({
            id,
            options,
            parent,
            snapshot,
            details,
            format,
            transforms,
            parts,
            indexRecord,
            indexBlocks,
            exclusion,
            runtime,
          }),
        );
        const signed = await signManifest(built, signer, repository.catalog);
        manifest = signed.manifest;
        await store.flush();
        await store.checkStillStored([...parts, ...written.header.blocks, indexRecord]);
        if (parent) await parents.checkStillExists(parent, id);
        stopIfInterrupted(signal);
        await store.commit(signed).finally(() => repository.catalog.invalidate());
      } catch (error) {
        estimating.abort();
        await indexCopy?.abandon();
        // A format reads the parent's index as it goes: a parent deleted meanwhile is the cause to report, not the read that failed.
        const cause =
          parent && !signal?.aborted && !(error instanceof RastError && error.code === ErrorCode.PARENT_INVALID)
            ? await parents.checkStillExists(parent, id).then(
                () => error,
                (gone: unknown) => (gone instanceof RastError && gone.code === ErrorCode.PARENT_INVALID ? gone : error),
              )
            : error;
        const { written, kept } = await store.removeWritten();
        const released = await snapshot.release('failed').then(
          () => true,
          () => false,
        );
        if (!signal?.aborted) throw cause;
        const objects =
          kept === 0
            ? `the ${written} objects it wrote were removed`
            : `${kept} of the objects it wrote could not be removed (list --all shows them)`;
        throw interrupted(
          signal,
          `create of ${sourcePath}`,
          `backup ${id} was not made; ${objects}${released ? '' : '; its snapshot could not be removed'}`,
        );
      }
      // Committed: nothing below may remove what the manifest points at.
      await store.cleanUp();
      await snapshot
        .release('committed')
        .catch((error: Error) => log.warn(`backup ${id} is committed, but releasing its snapshot failed: ${error.message}`));
      const partial = store.partialCommit();
      if (partial) throw partial;
      return manifest;
    },
  );
}

/** The format the snapshot names; an incremental's parent must have been made by the same one. */
export function formatOf(runtime: Runtime, snapshot: Snapshot, parent: Manifest | undefined): Format {
  const format = runtime.pipeline.hooks.format.get(snapshot.format)?.call();
  if (!format) throw formatMissing(snapshot.format, { neededBy: snapshot.kind });
  if (parent && parent.serializer.format !== format.name) {
    throw parentOtherFormat(parent.id, parent.serializer.format, format.name);
  }
  return format;
}

/** The serialized bytes as plaintext parts of `partSize` bytes, in the encoder's slots. */
function cutParts(
  serialization: Serialization,
  formatName: string,
  snapshot: Snapshot,
  partSize: number,
  encoder: PartEncoder,
): AsyncIterable<Buffer> {
  if (serialization.fill)
    return fillParts(
      (target) => serialization.fill!(target),
      partSize,
      () => encoder.buffer(),
      (buffer) => encoder.recycle(buffer),
    );
  if (serialization.stream) return cutIntoParts(serialization.stream, partSize, () => encoder.buffer());
  throw formatSerializedNothing(formatName, snapshot.source);
}

/** transform → store, for one object: encoded by every transform, then put in every working sink. */
async function transformAndStore(encoder: PartEncoder, store: SinkFanout, key: string, plain: Buffer): Promise<PartRecord> {
  const size = plain.length;
  const { data, sha256, release } = await encoder.encode(key, plain);
  try {
    await store.put(key, data);
  } finally {
    release();
  }
  return { key, size, storedSize: data.length, sha256 };
}

/**
 * Stores every part of `plainParts` under its key, up to `[backup] concurrency` at once, calling `partStored` after
 * each (and counting it in `progress`); returns their records in order. On any failure (or `signal`) it stops reading (`close`) and settles the
 * parts in flight before throwing, so that the caller can remove what they wrote.
 */
async function storeParts(
  runtime: Runtime,
  id: string,
  plainParts: AsyncIterable<Buffer>,
  storePart: (key: string, plain: Buffer) => Promise<PartRecord>,
  signal: AbortSignal | undefined,
  close: (() => void) | undefined,
  progress: ProgressCounter,
): Promise<PartRecord[]> {
  const aborted = whenInterrupted(signal);
  const parts: PartRecord[] = [];
  const inFlight = new Set<Promise<void>>();
  try {
    try {
      let seq = 0;
      for await (const plain of plainParts) {
        stopIfInterrupted(signal);
        const index = seq++;
        const task: Promise<void> = storePart(RepositoryKeys.part(id, index), plain).then((record) => {
          parts[index] = record;
          runtime.pipeline.hooks.partStored.call({ backupId: id, seq: index, size: record.size, storedSize: record.storedSize });
          progress.add(record.size);
        });
        inFlight.add(task);
        task.then(
          () => inFlight.delete(task),
          () => {},
        );
        if (inFlight.size >= runtime.settings.concurrency) await Promise.race([...inFlight, aborted]);
      }
    } catch (error) {
      close?.();
      throw error;
    }
    await Promise.race([Promise.all(inFlight), aborted]);
  } catch (error) {
    await Promise.allSettled(inFlight);
    throw error;
  }
  return parts;
}

interface ManifestFacts {
  id: string;
  options: CreateOptions;
  parent: Manifest | undefined;
  snapshot: Snapshot;
  /** The snapshot's details, and the format's after serializing. */
  details: Record<string, unknown>;
  format: { name: string; version: number; plugin: string };
  transforms: Transform[];
  parts: PartRecord[];
  indexRecord: PartRecord & { entries: number };
  /** The blocks of the backup's index run: stored like parts, counted in storedSize. */
  indexBlocks: PartRecord[];
  exclusion: Exclusion;
  runtime: Runtime;
}

function buildManifest(facts: ManifestFacts): Manifest {
  const { id, options, parent, snapshot, details, format, transforms, parts, indexRecord, indexBlocks, exclusion, runtime } = facts;
  const size = parts.reduce((sum, part) => sum + part.size, 0);
  const storedSize = [...parts, ...indexBlocks].reduce((sum, part) => sum + part.storedSize, indexRecord.storedSize);
  return {
    format: 'rast-backup/manifest',
    version: 1,
    id,
    name: options.name ?? null,
    tags: options.tags ?? [],
    created: new Date().toISOString(),
    host: hostname(),
    parent: parent?.id ?? null,
    source: { ...details, path: snapshot.source, kind: snapshot.kind, atomic: snapshot.atomic },
    serializer: { format: format.name, version: format.version, plugin: format.plugin },
    transforms: transforms.map((transform) => ({
      name: transform.name,
      stage: transform.stage,
      params: transform.params,
      plugin: transform.plugin,
    })),
    partSize: runtime.settings.partSize,
    parts,
    index: indexRecord,
    size,
    storedSize,
    plugins: Object.fromEntries(runtime.plugins.filter((plugin) => plugin.active).map(({ plugin }) => [plugin.name, plugin.version])),
    ...(exclusion.empty ? {} : { exclude: [...exclusion.patterns] }),
  };
}
