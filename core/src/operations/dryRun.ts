import path from 'node:path';
import { newBackupId } from '../BackupId.js';
import { interrupted, stopIfInterrupted } from '../Interruption.js';
import { displayPath } from '../IndexPath.js';
import type { Manifest } from '../Manifest.js';
import { ParentResolver } from '../ParentResolver.js';
import type { Runtime } from '../Runtime.js';
import type { Serialization } from '../types.js';
import { checkSource, exclusionOf, formatOf, warnUnmatched, type CreateOptions } from './create.js';
import { emptySource, noSourcePlugin } from '../diagnostics/index.js';

/** What `create --dry-run` found: the backup `create` would make now, which it did not make. */
export interface DryRun {
  dryRun: true;
  source: string;
  /** The source that would take the snapshot, and the format that would serialize it. */
  kind: string;
  format: string;
  /** The parent an incremental would be made on, or null for a full backup. */
  parent: string | null;
  /** Regular files whose content would be stored (all for a full backup, new and changed ones for an incremental); null when the format cannot tell. */
  files: number | null;
  /** Bytes of content that would be stored, before compression (see `counted`). */
  bytes: number;
  /** `survey`: the format counted without reading file content; `stream`: the snapshot was serialized and its bytes counted. */
  counted: 'survey' | 'stream';
  exclude: string[];
  /** Entries the patterns left out (each with whatever lies below it). */
  excludedEntries: number;
  /** Patterns that matched nothing. */
  unmatched: string[];
  /** The sinks a create would store into. */
  sinks: string[];
}

/**
 * `create --dry-run`: the snapshot (a btrfs source takes a real one, then removes it), the parent resolved as
 * create would, then the format's survey; no sink is written, no lifecycle event fired, no snapshot kept.
 * Interrupted (options.signal), it stops the survey, removes the snapshot and throws INTERRUPTED.
 */
export async function dryRunCreate(runtime: Runtime, options: CreateOptions): Promise<DryRun> {
  const { pipeline, repository, sinks, log } = runtime;
  const { hooks } = pipeline;
  if (options.path.trim() === '') throw emptySource(options.path);
  const { signal } = options;
  const sourcePath = path.resolve(options.path);
  const exclusion = exclusionOf(runtime, options);
  await checkSource(sourcePath);
  const parent = options.parent !== undefined ? await new ParentResolver(runtime).resolve(options.parent, sourcePath) : undefined;
  const exclude = sinks.flatMap((sink) => (sink.localPath ? [sink.localPath] : []));
  const backupId = newBackupId();
  const snapshot = await hooks.snapshot.promise({ path: sourcePath, parent, backupId, repository: repository.id, exclude, exclusion });
  if (!snapshot) throw noSourcePlugin(displayPath(sourcePath));
  let survey: Pick<DryRun, 'files' | 'bytes' | 'counted'>;
  try {
    stopIfInterrupted(signal);
    const format = formatOf(runtime, snapshot, parent);
    const parentIndex = parent ? await repository.indexes.open(parent, { kept: true }) : undefined;
    const context = { snapshot, backupId, parentIndex, log, signal };
    survey = format.survey
      ? { ...(await format.survey(context)), counted: 'survey' }
      : { files: null, bytes: await streamBytes(format.serialize(context), signal), counted: 'stream' };
    stopIfInterrupted(signal);
  } catch (error) {
    await snapshot.release('failed');
    if (signal?.aborted)
      throw interrupted(signal, `dry run of ${displayPath(sourcePath)}`, 'nothing was written; its snapshot was removed');
    throw error;
  }
  // Nothing was committed: the source removes the snapshot as after a failed create.
  await snapshot.release('failed');
  warnUnmatched(runtime, exclusion, sourcePath);
  return {
    dryRun: true,
    source: snapshot.source,
    kind: snapshot.kind,
    format: snapshot.format,
    parent: (parent as Manifest | undefined)?.id ?? null,
    files: survey.files,
    bytes: survey.bytes,
    counted: survey.counted,
    exclude: [...exclusion.patterns],
    excludedEntries: exclusion.excludedEntries,
    unmatched: exclusion.unused(),
    sinks: sinks.map((sink) => sink.name),
  };
}

/** The bytes a serialization produces, read and dropped. */
async function streamBytes(serialization: Serialization, signal: AbortSignal | undefined): Promise<number> {
  let bytes = 0;
  try {
    if (serialization.stream) {
      for await (const chunk of serialization.stream) {
        stopIfInterrupted(signal);
        bytes += chunk.length;
      }
    } else if (serialization.fill) {
      const buffer = Buffer.allocUnsafe(1024 * 1024);
      for (let length = buffer.length; length === buffer.length; bytes += length) {
        stopIfInterrupted(signal);
        length = await serialization.fill(buffer);
      }
    }
  } catch (error) {
    serialization.close?.();
    throw error;
  }
  return bytes;
}
