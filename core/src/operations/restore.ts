import { readdir, rm, rmdir, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { makeDirectories } from '../Directories.js';
import {
  destinationInvalid,
  emptyArgument,
  formatMissing,
  optionInvalid,
  reasonOf,
  restoreSkipped,
  restoreStopped,
} from '../diagnostics/index.js';
import { RastError } from '../errors.js';
import { interrupted, stopIfInterrupted } from '../Interruption.js';
import type { Manifest } from '../Manifest.js';
import { DamagedStreamPlace } from '../DamagedStreamPlace.js';
import { partLabel, type PartReader, type ReadPart } from '../PartReader.js';
import { isWithin, realLocation } from '../PathContainment.js';
import { ProgressCounter } from '../Progress.js';
import type { Runtime } from '../Runtime.js';
import type { StreamRangeReader } from '../StreamRangeReader.js';
import type { RestoreContext, RestoreReport } from '../types.js';
import { runOperation } from './lifecycle.js';

export interface RestoreOptions {
  backup: string;
  destination: string;
  include?: string[];
  /** Succeed even when the destination could not hold everything (the report's `skipped`); else that fails with RESTORE_INCOMPLETE. */
  ignoreUnrestorable?: boolean;
  /** Stops the restore (SIGINT, SIGTERM in the CLI): what it wrote into the destination is removed, and it throws INTERRUPTED. */
  signal?: AbortSignal;
}

/** The destination may not exist yet, or be an empty directory. Returns whether it created the destination (so that a restore that fails at once can remove it again). */
async function prepareDestination(destination: string): Promise<boolean> {
  let entries: string[];
  try {
    const stats = await stat(destination);
    if (!stats.isDirectory()) throw destinationInvalid(destination, 'exists and is not a directory');
    entries = await readdir(destination);
  } catch (error) {
    if (error instanceof RastError) throw error;
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw destinationInvalid(destination, `cannot be read: ${reasonOf(error)}`);
    try {
      await makeDirectories(destination, 0o700);
    } catch (cause) {
      throw destinationInvalid(destination, `cannot be created: ${reasonOf(cause)}`);
    }
    return true;
  }
  if (entries.length > 0) {
    throw destinationInvalid(destination, `is not empty (${entries.length} entries): restore into a new or empty directory`);
  }
  return false;
}

/**
 * A destination inside a sink's directory (the repository) or a directory a plugin keeps its data in (a
 * snapshot store) is refused: what is restored there would pass for their data. Inside the backed-up source
 * it is allowed (a backup of `/` is restored somewhere below `/`), with a warning.
 */
async function checkDestinationPlace(runtime: Runtime, destination: string, target: Manifest): Promise<void> {
  const real = await realLocation(destination);
  const occupied = [
    ...runtime.sinks.flatMap((sink) => (sink.localPath ? [{ path: sink.localPath, what: `the repository of sink ${sink.name}` }] : [])),
    ...(await runtime.pipeline.hooks.occupiedPaths.promise([])),
  ];
  for (const { path: place, what } of occupied) {
    if (isWithin(await realLocation(place), real)) {
      throw destinationInvalid(destination, `is inside ${place}, which holds ${what}: restore somewhere else`, { occupied: place });
    }
  }
  const source = await realLocation(target.source.path);
  // Into the source itself (empty: a lost tree restored in place) is what a restore is for.
  if (target.host === hostname() && real !== source && isWithin(source, real)) {
    runtime.log.warn(
      `destination ${destination} is inside ${target.source.path}, the source of backup ${target.id}: its next backup will hold the restored copy too`,
    );
  }
}

const HINTS: Record<string, string> = {
  ENOSPC: ' (no space left on the device)',
  EDQUOT: ' (disk quota exceeded)',
  EROFS: ' (read-only filesystem)',
};

/**
 * Removes what an interrupted restore wrote: the destination itself when the restore created it, else
 * everything in it (it was empty when the restore began). Returns what could not be removed.
 */
async function removeRestored(destination: string, created: boolean): Promise<string | undefined> {
  try {
    if (created) await rm(destination, { recursive: true, force: true });
    else for (const name of await readdir(destination)) await rm(path.join(destination, name), { recursive: true, force: true });
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** A system error while writing the destination (a full disk) as one line naming the backup and the destination. */
function writeFailure(error: unknown, id: string, destination: string): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (error instanceof RastError || typeof code !== 'string' || !code.startsWith('E')) return error;
  return restoreStopped(id, destination, error, HINTS[code] ?? '');
}

/**
 * The chain's streams as the format reads them, whole or in spans (one range reader per backup), counting
 * the plaintext bytes read; an interruption stops the format at its next chunk.
 */
function countedStreams(
  parts: PartReader,
  readPart: ReadPart,
  signal: AbortSignal | undefined,
  progress: ProgressCounter,
): Pick<RestoreContext, 'openStream' | 'rangeReader'> & { read(): number } {
  const readers = new Map<string, StreamRangeReader>();
  let streamed = 0;
  const read = () => streamed + [...readers.values()].reduce((sum, reader) => sum + reader.fetchedBytes, 0);
  return {
    openStream: async function* (manifest) {
      for await (const chunk of parts.openStream(manifest, readPart)) {
        stopIfInterrupted(signal);
        streamed += chunk.length;
        progress.set(read());
        yield chunk;
      }
    },
    rangeReader: (manifest) => {
      let reader = readers.get(manifest.id);
      if (!reader) readers.set(manifest.id, (reader = parts.rangeReader(manifest, readPart)));
      const spans = reader;
      return {
        read: async function* (start, end) {
          for await (const chunk of spans.read(start, end)) {
            stopIfInterrupted(signal);
            progress.set(read());
            yield chunk;
          }
        },
        get fetchedBytes() {
          return spans.fetchedBytes;
        },
      };
    },
    read,
  };
}

/** What a restore did; `read` counts the plaintext stream bytes fetched, of `chainSize` (partial restores fetch less). */
export type RestoreOutcome = RestoreReport & { backup: string; read: number; chainSize: number };

/** index (resolve the chain) → fetch → untransform → deserialize into the destination. Anything the destination could not hold fails the restore unless `ignoreUnrestorable`. */
export async function restoreBackup(runtime: Runtime, options: RestoreOptions): Promise<RestoreOutcome> {
  const { pipeline, log } = runtime;
  const { catalog, graph, parts } = runtime.repository;
  const destination = path.resolve(options.destination);
  if (options.destination.trim() === '')
    throw emptyArgument('destination', options.destination, 'give the directory to restore into', { path: options.destination });
  if (options.include?.includes(''))
    throw optionInvalid(
      '--include',
      '""',
      'a pattern may not be empty; give a path or glob inside the backup, or leave --include out to restore everything',
      { include: options.include },
    );
  const { signal } = options;
  return runOperation(runtime, 'restore', { backupId: options.backup, path: destination }, async (event) => {
    // index: the target, the chain of backups its restore reads (full backup first), its format and file index
    const { manifest: target } = await catalog.resolve(options.backup);
    event.backupId = target.id;
    await checkDestinationPlace(runtime, destination, target);
    const chain = await graph.chain(target);
    const format = pipeline.hooks.format.get(target.serializer.format)?.call();
    if (!format) {
      throw formatMissing(target.serializer.format, { backup: target.id, plugin: target.serializer.plugin });
    }
    const index = await runtime.repository.indexes.open(target);
    if (signal?.aborted) throw interrupted(signal, `restore of ${target.id}`, 'nothing was written');
    const created = await prepareDestination(destination);
    // fetch → untransform, each part the format reads: from the first sink whose copy has the recorded SHA-256,
    // then the transforms the manifest records undone, last applied first (PartReader.readPlain)
    const place = new DamagedStreamPlace(chain);
    const readPart: ReadPart = (manifest, seq, into) =>
      parts.readPlain(manifest, manifest.parts[seq]!, partLabel(manifest, seq), (sink) => place.read(manifest, seq, sink.name), into);
    // A partial restore fetches only what it needs, which the format knows as it goes: its total is unknown.
    const chainSize = chain.reduce((sum, manifest) => sum + manifest.size, 0);
    const progress = new ProgressCounter(pipeline.hooks.progress, 'restore', target.id, options.include?.length ? null : chainSize);
    const streams = countedStreams(parts, readPart, signal, progress);
    // deserialize into the destination
    const report = await format
      .restore({
        chain,
        target,
        index,
        destination,
        include: options.include ?? [],
        openStream: streams.openStream,
        rangeReader: streams.rangeReader,
        log,
      })
      .catch(async (error) => {
        if (signal?.aborted) {
          const kept = await removeRestored(destination, created);
          const outcome = kept
            ? `what it wrote into ${destination} could not all be removed (${kept})`
            : created
              ? `${destination}, which it created, was removed`
              : `what it wrote into ${destination} was removed`;
          throw interrupted(signal, `restore of ${target.id}`, outcome);
        }
        if (created) await rmdir(destination).catch(() => {});
        throw writeFailure(place.named(error), target.id, destination);
      });
    const read = streams.read();
    log.info(`restore of ${target.id} read ${read} of the chain's ${chainSize} stream bytes`);
    if (report.ownersNotSet)
      log.warn(`owners not restored: ${report.ownersNotSet} entries belong to the restoring user (setting owners needs root)`);
    if (report.skipped.length > 0 && !options.ignoreUnrestorable) {
      for (const skipped of report.skipped) log.warn(`not restored: ${skipped}`);
      throw restoreSkipped(target.id, destination, report.skipped);
    }
    return { ...report, backup: target.id, read, chainSize };
  });
}
