import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { newBackupId } from '../BackupId.js';
import { ErrorCode, RastError } from '../errors.js';
import { encodeFileIndex, type FileIndex } from '../FileIndex.js';
import { displayPath, pathBytes } from '../IndexPath.js';
import { interrupted, stopIfInterrupted, whenInterrupted } from '../Interruption.js';
import type { Manifest, PartRecord } from '../Manifest.js';
import { cutIntoParts, fillParts } from '../PartSplitter.js';
import { PartEncoder } from '../PartEncoder.js';
import type { CatalogEntry } from '../Catalog.js';
import { RepositoryKeys } from '../RepositoryKeys.js';
import type { Runtime } from '../Runtime.js';
import type { Sink, Snapshot, Transform } from '../types.js';
import { runOperation } from './lifecycle.js';

export interface CreateOptions {
  /** The source: an index path (a name that is not UTF-8 as its escaped bytes, see IndexPath). */
  path: string;
  name?: string;
  tags?: string[];
  /** Parent backup: id, unique prefix or `latest` (the latest backup of the same source). */
  parent?: string;
  /** Stops the create (SIGINT, SIGTERM in the CLI): what it made so far is removed, and it throws INTERRUPTED. */
  signal?: AbortSignal;
}

/** `sourcePath` is an index path: a name that is not UTF-8 comes as its escaped bytes (see IndexPath). */
async function checkSource(sourcePath: string): Promise<void> {
  const shown = displayPath(sourcePath);
  try {
    const stats = await stat(pathBytes(sourcePath));
    if (!stats.isDirectory()) throw new RastError(ErrorCode.SOURCE_INVALID, `source ${shown} is not a directory`, { path: shown });
    await access(pathBytes(sourcePath), constants.R_OK | constants.X_OK);
  } catch (error) {
    if (error instanceof RastError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable (permission denied)' : (error as Error).message;
    throw new RastError(ErrorCode.SOURCE_INVALID, `source ${shown} ${reason}`, { path: shown });
  }
}

/**
 * snapshot → serialize → cut into parts → transform → store in every sink → index → manifest (commit).
 * Nothing is listed until the manifest is written; on failure the parts written so far are removed.
 *
 * Several sinks: a sink that fails is dropped for the rest of this backup (a warning names it), the
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
  if (options.path.trim() === '') throw new RastError(ErrorCode.USAGE, `source ${JSON.stringify(options.path)} is empty: give the directory or subvolume to back up`, { path: options.path });
  const sourcePath = path.resolve(options.path);
  const id = newBackupId();
  const { signal } = options;
  const aborted = whenInterrupted(signal);

  return runOperation(runtime, 'create', { backupId: id, path: sourcePath, name: options.name ?? null, tags: options.tags ?? [] }, async () => {
    await checkSource(sourcePath);
    const parent = options.parent !== undefined ? await resolveParent(runtime, options.parent, sourcePath) : undefined;
    const exclude = sinks.flatMap((sink) => (sink.localPath ? [sink.localPath] : []));
    // Fetched and decoded while the snapshot is taken: for many files, the parent's index takes as long.
    const readingParentIndex = parent ? readParentIndex(runtime, parent) : undefined;
    readingParentIndex?.catch(() => {});
    // Made while the snapshot is taken too (an encryption transform reads and checks its key), and so are the
    // threads of the worker pool that encodes the parts.
    const makingTransforms = hooks.transforms.promise([]);
    makingTransforms.then(() => PartEncoder.startThreads(), () => {});
    if (signal?.aborted) throw interrupted(signal, `create of ${displayPath(sourcePath)}`, 'nothing was written');
    const snapshot = await hooks.snapshot.promise({ path: sourcePath, parent, backupId: id, repository: repository.id, exclude });
    if (!snapshot) throw new RastError(ErrorCode.SOURCE_INVALID, `no loaded plugin can back up ${displayPath(sourcePath)}`, { path: displayPath(sourcePath) });

    const written = new Set<string>();
    const inFlight = new Set<Promise<void>>();
    const failures = new Map<Sink, Error>();
    const working = () => sinks.filter((sink) => !failures.has(sink));
    const dropSink = (sink: Sink, error: Error) => {
      if (failures.has(sink)) return;
      failures.set(sink, error);
      const others = working();
      if (others.length > 0) log.warn(`${error.message}; backup ${id} goes on in ${others.map((other) => other.name).join(', ')} only and will not be committed in ${sink.name}`);
    };
    let manifest: Manifest;
    let encoded: Buffer;
    try {
      stopIfInterrupted(signal);
      const format = hooks.format.get(snapshot.format)?.call();
      if (!format) throw new RastError(ErrorCode.PLUGIN_INVALID, `no loaded plugin provides format ${snapshot.format} (needed by the ${snapshot.kind} source)`);
      if (parent && parent.serializer.format !== format.name) {
        throw new RastError(ErrorCode.PARENT_INVALID, `parent ${parent.id} is a ${parent.serializer.format} backup; this source makes ${format.name}: make a full backup`, { parent: parent.id });
      }
      const parentIndex = await readingParentIndex;
      const transforms = [...(await makingTransforms)].sort((a, b) => a.stage - b.stage);

      const encoder = new PartEncoder(transforms, settings.partSize, PartEncoder.slotsFor(settings.concurrency));
      const store = async (key: string, plain: Buffer): Promise<PartRecord> => {
        const size = plain.length;
        const { data, sha256, release } = await encoder.encode(key, plain);
        try {
          written.add(key);
          await Promise.all(working().map((sink) => sink.put(key, data).catch((error: Error) => dropSink(sink, sinkError(sink, `could not store ${key}`, error)))));
        } finally {
          release();
        }
        if (working().length === 0) throw allSinksFailed(id, failures);
        return { key, size, storedSize: data.length, sha256 };
      };

      const serialization = format.serialize({ snapshot, backupId: id, parentIndex, log });
      const parts: PartRecord[] = [];
      let seq = 0;
      const plainParts = serialization.fill
        ? fillParts((target) => serialization.fill!(target), settings.partSize, () => encoder.buffer(), (buffer) => encoder.recycle(buffer))
        : serialization.stream
          ? cutIntoParts(serialization.stream, settings.partSize, () => encoder.buffer())
          : undefined;
      if (!plainParts) throw new RastError(ErrorCode.PLUGIN_INVALID, `format ${format.name} serialized ${snapshot.source} into neither a stream nor fill()`);
      try {
        for await (const plain of plainParts) {
          stopIfInterrupted(signal);
          const index = seq++;
          const task: Promise<void> = store(RepositoryKeys.part(id, index), plain).then((record) => {
            parts[index] = record;
            hooks.partStored.call({ backupId: id, seq: index, size: record.size, storedSize: record.storedSize });
          });
          inFlight.add(task);
          task.then(() => inFlight.delete(task), () => {});
          if (inFlight.size >= settings.concurrency) await Promise.race([...inFlight, aborted]);
        }
      } catch (error) {
        serialization.close?.();
        throw error;
      }
      await Promise.race([Promise.all(inFlight), aborted]);

      const fileIndex: FileIndex = serialization.index();
      const encodedIndex = encodeFileIndex(fileIndex);
      const indexRecord = await store(RepositoryKeys.index(id), Buffer.from(encodedIndex));
      manifest = hooks.manifest.call(buildManifest({ id, options, parent, snapshot, format, transforms, parts, indexRecord, fileIndex, runtime }));
      await Promise.all(working().map((sink) => sink.flush?.().catch((error: Error) => dropSink(sink, sinkError(sink, 'could not make its objects durable', error)))));
      await checkStillStored(working(), id, [...parts, indexRecord], dropSink);
      if (working().length === 0) throw allSinksFailed(id, failures);
      if (parent) await checkParentStillExists(runtime, id, parent);
      stopIfInterrupted(signal);
      await commit(runtime, manifest, working(), dropSink);
      if (working().length === 0) throw allSinksFailed(id, failures);
      encoded = encodedIndex;
    } catch (error) {
      await Promise.allSettled(inFlight);
      const removals = await Promise.allSettled(sinks.flatMap((sink) => [...written].map((key) => sink.delete(key))));
      const released = await snapshot.release('failed').then(() => true, () => false);
      if (!signal?.aborted) throw error;
      const kept = removals.filter((removal) => removal.status === 'rejected').length;
      const objects = kept === 0 ? `the ${written.size} objects it wrote were removed` : `${kept} of the objects it wrote could not be removed (list --all shows them)`;
      throw interrupted(signal, `create of ${sourcePath}`, `backup ${id} was not made; ${objects}${released ? '' : '; its snapshot could not be removed'}`);
    }
    // Committed: nothing below may remove what the manifest points at.
    await Promise.allSettled([...failures.keys()].flatMap((sink) => [...written].map((key) => sink.delete(key))));
    await snapshot.release('committed').catch((error: Error) => log.warn(`backup ${id} is committed, but releasing its snapshot failed: ${error.message}`));
    await runtime.indexCache.save(id, encoded).catch((error: Error) => log.warn(`could not keep a copy of the file index of ${id}: ${error.message}`));
    if (failures.size > 0) {
      const held = working().map((sink) => sink.name);
      throw new RastError(
        ErrorCode.SINK_FAILED,
        `backup ${id} is committed in ${held.join(', ')} only: ${[...failures.values()].map((error) => error.message).join('; ')}`,
        { backup: id, committed: held, failed: [...failures.keys()].map((sink) => sink.name) },
      );
    }
    return manifest;
  });
}

/** A sink's failure as one message naming the sink; a sink's own RastError already names it. */
function sinkError(sink: Sink, action: string, error: Error): Error {
  if (error instanceof RastError) return error;
  return new RastError(ErrorCode.SINK_FAILED, `sink ${sink.name} (${sink.location}) ${action}: ${error.message}`, { sink: sink.name }, { cause: error });
}

function allSinksFailed(id: string, failures: Map<Sink, Error>): RastError {
  const errors = [...failures.values()];
  if (errors.length === 1 && errors[0] instanceof RastError) return errors[0];
  return new RastError(ErrorCode.SINK_FAILED, `backup ${id} was not stored: ${errors.map((error) => error.message).join('; ')}`, { backup: id, failed: [...failures.keys()].map((sink) => sink.name) });
}

/** The parent's index from the repository, or this host's own copy when the repository's cannot be decoded here. */
async function readParentIndex(runtime: Runtime, parent: Manifest): Promise<FileIndex> {
  try {
    return await runtime.repository.parts.readIndex(parent);
  } catch (error) {
    if (!(error instanceof RastError) || error.code !== ErrorCode.TRANSFORM_FAILED) throw error;
    const kept = await runtime.indexCache.load(parent);
    if (!kept) throw error;
    runtime.log.info(`backup ${parent.id}: using this host's copy of its file index (${error.message})`);
    return kept;
  }
}

/** Why the chain of `entry` cannot be restored (a parent missing, a loop), or undefined when it is whole. */
async function brokenChain(runtime: Runtime, entry: CatalogEntry): Promise<string | undefined> {
  try {
    await runtime.repository.graph.chain(entry.manifest);
    return undefined;
  } catch (error) {
    if (error instanceof RastError && error.code === ErrorCode.PARENT_INVALID) return error.message;
    throw error;
  }
}

/**
 * Just before the commit: every object of this backup is still in each sink. A prune (on any host) collects
 * uncommitted data older than leftover_age_hours, so a create running longer than that may lose its parts;
 * such a sink is dropped rather than committed with a manifest pointing at nothing.
 */
async function checkStillStored(sinks: Sink[], id: string, records: PartRecord[], dropSink: (sink: Sink, error: Error) => void): Promise<void> {
  await Promise.all(
    sinks.map(async (sink) => {
      const present = new Map<string, number>();
      try {
        for await (const object of sink.list(RepositoryKeys.dataPrefix(id))) present.set(object.key, object.size);
      } catch (error) {
        dropSink(sink, sinkError(sink, `could not list the objects of backup ${id} before committing it`, error as Error));
        return;
      }
      const gone = records.filter((record) => present.get(record.key) !== record.storedSize);
      if (gone.length === 0) return;
      dropSink(
        sink,
        new RastError(
          ErrorCode.SINK_FAILED,
          `sink ${sink.name} (${sink.location}): ${gone.length} of the ${records.length} objects of backup ${id} vanished while it was being made (${gone[0]!.key}); a prune may have taken them for an interrupted create's: leftover_age_hours must exceed the longest create`,
          { sink: sink.name, backup: id },
        ),
      );
    }),
  );
}

/**
 * A delete or prune may have removed the parent while this backup was being made (nothing holds it); an
 * incremental committed on a missing parent could never be restored, so it is not committed.
 */
async function checkParentStillExists(runtime: Runtime, id: string, parent: Manifest): Promise<void> {
  runtime.repository.catalog.invalidate();
  if ((await runtime.repository.catalog.entries()).some((entry) => entry.manifest.id === parent.id)) return;
  throw new RastError(ErrorCode.PARENT_INVALID, `parent ${parent.id} was deleted while backup ${id} was being made, so ${id} was not committed: run create again`, { parent: parent.id });
}

async function resolveParent(runtime: Runtime, reference: string, sourcePath: string): Promise<Manifest | undefined> {
  if (reference.trim() === '') throw new RastError(ErrorCode.USAGE, `--parent ${JSON.stringify(reference)} is empty: give a backup id, a unique prefix of one, or latest`, { reference });
  if (reference === 'latest') {
    const entries = await runtime.repository.catalog.entries();
    const latest = entries.filter((entry) => entry.manifest.source.path === sourcePath).at(-1);
    if (!latest) {
      // So that one timer line (`create / --parent latest`) starts its chain by itself.
      runtime.log.warn(`--parent latest: no earlier backup of ${displayPath(sourcePath)}; making a full backup`);
      return undefined;
    }
    // An incremental on a broken chain could never be restored: start a new one.
    const broken = await brokenChain(runtime, latest);
    if (broken) {
      runtime.log.warn(`--parent latest: ${broken}; making a full backup`);
      return undefined;
    }
    // Plugins may start a new full backup instead (null), e.g. retention's full_every.
    return (await runtime.pipeline.hooks.parent.promise(latest.manifest, { path: sourcePath, chain: () => runtime.repository.graph.chain(latest.manifest) })) ?? undefined;
  }
  const entry = await runtime.repository.catalog.resolve(reference);
  const { manifest } = entry;
  if (manifest.source.path !== sourcePath) {
    throw new RastError(ErrorCode.PARENT_INVALID, `--parent ${reference}: backup ${manifest.id} is of ${displayPath(manifest.source.path)}, not ${displayPath(sourcePath)}`, { parent: manifest.id });
  }
  const broken = await brokenChain(runtime, entry);
  if (broken) throw new RastError(ErrorCode.PARENT_INVALID, `--parent ${reference}: ${broken}: make a full backup`, { parent: manifest.id });
  return manifest;
}

interface ManifestFacts {
  id: string;
  options: CreateOptions;
  parent: Manifest | undefined;
  snapshot: Snapshot;
  format: { name: string; version: number; plugin: string };
  transforms: Transform[];
  parts: PartRecord[];
  indexRecord: PartRecord;
  fileIndex: FileIndex;
  runtime: Runtime;
}

function buildManifest(facts: ManifestFacts): Manifest {
  const { id, options, parent, snapshot, format, transforms, parts, indexRecord, fileIndex, runtime } = facts;
  const size = parts.reduce((sum, part) => sum + part.size, 0);
  const storedSize = parts.reduce((sum, part) => sum + part.storedSize, indexRecord.storedSize);
  return {
    format: 'rast-backup/manifest',
    version: 1,
    id,
    name: options.name ?? null,
    tags: options.tags ?? [],
    created: new Date().toISOString(),
    host: hostname(),
    parent: parent?.id ?? null,
    source: { ...snapshot.details, path: snapshot.source, kind: snapshot.kind, atomic: snapshot.atomic },
    serializer: { format: format.name, version: format.version, plugin: format.plugin },
    transforms: transforms.map((transform) => ({ name: transform.name, stage: transform.stage, params: transform.params, plugin: transform.plugin })),
    partSize: runtime.settings.partSize,
    parts,
    index: { ...indexRecord, entries: fileIndex.entries.length },
    size,
    storedSize,
    plugins: Object.fromEntries(runtime.plugins.filter((plugin) => plugin.active).map(({ plugin }) => [plugin.name, plugin.version])),
  };
}

/**
 * Writes the manifest to each of `sinks` (those that stored every part): the commit point. A sink that
 * fails here is dropped, and its copy of the manifest removed in case the write landed after all.
 */
async function commit(runtime: Runtime, manifest: Manifest, sinks: Sink[], dropSink: (sink: Sink, error: Error) => void): Promise<void> {
  const data = Buffer.from(JSON.stringify(manifest, null, 2) + '\n');
  const key = RepositoryKeys.manifest(manifest.id);
  const results = await Promise.allSettled(sinks.map((sink) => sink.put(key, data)));
  const failed = sinks.filter((_, index) => results[index]!.status === 'rejected');
  for (const sink of failed) {
    dropSink(sink, sinkError(sink, `could not commit backup ${manifest.id}`, (results[sinks.indexOf(sink)] as PromiseRejectedResult).reason as Error));
  }
  await Promise.allSettled(failed.map((sink) => sink.delete(key)));
  runtime.repository.catalog.invalidate();
}
