import { createHash } from 'node:crypto';
import pLimit from 'p-limit';
import { ErrorCode, RastError } from '../errors.js';
import { parseManifest, type PartRecord } from '../Manifest.js';
import { checkStored, RepositoryKeys, type CatalogEntry } from '../Repository.js';
import type { Runtime } from '../Runtime.js';
import type { Sink } from '../types.js';
import { runOperation } from './lifecycle.js';

/**
 * How much verify reads:
 * - `presence`: lists each sink; every object is there with its recorded size. Downloads nothing.
 * - `subset`: presence, plus one rotating group of the objects downloaded and checked against their SHA-256.
 * - `full`: every object downloaded and checked in every sink, then the stream decoded end to end.
 */
export type VerifyLevel = 'presence' | 'subset' | 'full';

export interface VerifyOptions {
  /** Id, unique prefix or `latest` (verifyBackup only). */
  backup: string;
  /** `presence` or `full` (the default); give `subset` to read a sample. */
  level?: 'presence' | 'full';
  /**
   * Read about `percent` % of the objects: they are split into round(100 / percent) groups by a hash of
   * their key, and run number `run` reads group `run mod groups`, so successive runs cover everything.
   */
  subset?: { percent: number; run: number };
}

export type VerifyProblemKind = 'missing' | 'size' | 'checksum' | 'manifest-missing' | 'manifest-damaged' | 'unreadable' | 'chain' | 'stream';

/** One piece of damage, naming the backup, the sink and the object where they apply. */
export interface VerifyProblem {
  backup: string;
  kind: VerifyProblemKind;
  sink: string | null;
  /** `part 2 of 5`, `file index`, `manifest`. */
  object: string | null;
  key: string | null;
  message: string;
}

export interface VerifyReport {
  backup: string;
  level: VerifyLevel;
  /** Each configured sink: whether it holds the backup, objects listed and read there, problems found. */
  sinks: Array<{ sink: string; holds: boolean; objects: number; read: number; problems: VerifyProblem[] }>;
  /** Problem found decoding the stream end to end (`full` only), if any. */
  stream: string | null;
  /** Problems that are no sink's: a broken chain, the stream. */
  problems: VerifyProblem[];
  ok: boolean;
  /** When damaged: the backups whose restore needs this one (its incrementals, theirs, …). */
  dependents: string[];
}

export interface VerifyAllReport {
  level: VerifyLevel;
  ok: boolean;
  backups: VerifyReport[];
  /** Ids of the damaged backups. */
  damaged: string[];
  /** Intact backups that depend on a damaged one, so cannot be restored either. */
  affected: string[];
}

const levelOf = (options: Omit<VerifyOptions, 'backup'>): VerifyLevel => (options.subset ? 'subset' : options.level ?? 'full');

/** Whether an object belongs to this run's group of the sample. */
function sampled(key: string, subset: { percent: number; run: number }): boolean {
  const groups = Math.max(1, Math.round(100 / subset.percent));
  return createHash('sha256').update(key).digest().readUInt32BE(0) % groups === subset.run % groups;
}

/** Verifies one backup; exits with VERIFY_FAILED (details.report) on any damage. */
export async function verifyBackup(runtime: Runtime, options: VerifyOptions): Promise<VerifyReport> {
  const { repository } = runtime;
  return runOperation(runtime, 'verify', { backupId: options.backup }, async (event) => {
    const entry = await repository.resolve(options.backup);
    event.backupId = entry.manifest.id;
    const report = await checkBackup(runtime, entry, options);
    if (!report.ok) {
      report.dependents = descendants(await repository.catalog(), [entry.manifest.id]);
      throw new RastError(ErrorCode.VERIFY_FAILED, `verify failed: ${firstProblem(report)}`, { backup: entry.manifest.id, report });
    }
    return report;
  });
}

/**
 * Verifies every backup, and finds backups that exist in no readable form: manifests damaged in every
 * sink. Exits with VERIFY_FAILED (details.report) on any damage.
 */
export async function verifyAll(runtime: Runtime, options: Omit<VerifyOptions, 'backup'>): Promise<VerifyAllReport> {
  const { repository } = runtime;
  return runOperation(runtime, 'verify', {}, async () => {
    const entries = await repository.catalog();
    const backups: VerifyReport[] = [];
    for (const entry of entries) backups.push(await checkBackup(runtime, entry, options));
    backups.push(...(await unreadableManifests(runtime, new Set(entries.map((entry) => entry.manifest.id)), levelOf(options))));
    const damaged = backups.filter((report) => !report.ok).map((report) => report.backup);
    for (const report of backups) if (!report.ok) report.dependents = descendants(entries, [report.backup]);
    const affected = descendants(entries, damaged).filter((id) => !damaged.includes(id));
    const report: VerifyAllReport = { level: levelOf(options), ok: damaged.length === 0, backups, damaged, affected };
    if (!report.ok) {
      const first = backups.find((candidate) => !candidate.ok)!;
      throw new RastError(ErrorCode.VERIFY_FAILED, `verify failed: ${damaged.length} damaged backup${damaged.length === 1 ? '' : 's'}, first: ${firstProblem(first)}`, { report });
    }
    return report;
  });
}

function firstProblem(report: VerifyReport): string {
  return [...report.sinks.flatMap((sink) => sink.problems), ...report.problems][0]?.message ?? 'unknown problem';
}

/** Every backup whose chain contains one of `ids`, except those ids. */
function descendants(entries: CatalogEntry[], ids: string[]): string[] {
  const found = new Set<string>();
  const pending = [...ids];
  while (pending.length > 0) {
    const id = pending.pop()!;
    for (const { manifest } of entries) {
      if (manifest.parent === id && !found.has(manifest.id) && !ids.includes(manifest.id)) {
        found.add(manifest.id);
        pending.push(manifest.id);
      }
    }
  }
  return entries.map((entry) => entry.manifest.id).filter((id) => found.has(id));
}

/** Manifests present in some sink but readable in none: their backups are lost to list and restore. */
async function unreadableManifests(runtime: Runtime, committed: Set<string>, level: VerifyLevel): Promise<VerifyReport[]> {
  const reports = new Map<string, VerifyReport>();
  for (const sink of runtime.sinks) {
    const keys: string[] = [];
    try {
      for await (const object of sink.list(RepositoryKeys.manifestPrefix)) keys.push(object.key);
    } catch {
      continue; // the catalog has already warned about a sink it could not read
    }
    for (const key of keys) {
      const id = RepositoryKeys.manifestOwner(key);
      if (id === undefined || committed.has(id)) continue;
      const problem = parseManifest(await sink.get(key).catch(() => Buffer.alloc(0)), id).problem ?? 'unreadable';
      const report = reports.get(id) ?? { backup: id, level, sinks: [], stream: null, problems: [], ok: false, dependents: [] };
      report.sinks.push({ sink: sink.name, holds: false, objects: 0, read: 0, problems: [{ backup: id, kind: 'manifest-damaged', sink: sink.name, object: 'manifest', key, message: `backup ${id}, manifest (${key}) in sink ${sink.name} is damaged: ${problem}` }] });
      reports.set(id, report);
    }
  }
  return [...reports.values()];
}

/** Checks one backup at the level asked for; never throws for damage, only reports it. */
async function checkBackup(runtime: Runtime, entry: CatalogEntry, options: Omit<VerifyOptions, 'backup'>): Promise<VerifyReport> {
  const { manifest } = entry;
  const level = levelOf(options);
  const objects: Array<[string, PartRecord]> = [...manifest.parts.map((part, seq): [string, PartRecord] => [`part ${seq + 1} of ${manifest.parts.length}`, part]), ['file index', manifest.index]];
  const sinks: VerifyReport['sinks'] = [];
  for (const sink of runtime.sinks) sinks.push(await checkSink(sink, entry, objects, level, options.subset, runtime.settings.concurrency));

  const problems: VerifyProblem[] = [];
  await runtime.repository.chain(entry).catch((error: Error) => {
    problems.push({ backup: manifest.id, kind: 'chain', sink: null, object: null, key: null, message: error.message });
  });
  let stream: string | null = null;
  if (level === 'full') {
    try {
      const format = runtime.pipeline.hooks.format.get(manifest.serializer.format)?.call();
      if (!format) throw new RastError(ErrorCode.PLUGIN_INVALID, `no loaded plugin reads format ${manifest.serializer.format}`);
      const index = await runtime.repository.readIndex(manifest);
      await format.verify({ manifest, index, stream: runtime.repository.openStream(manifest) });
    } catch (error) {
      stream = (error as Error).message;
      problems.push({ backup: manifest.id, kind: 'stream', sink: null, object: null, key: null, message: stream });
    }
  }
  const ok = problems.length === 0 && sinks.every((sink) => sink.problems.length === 0);
  return { backup: manifest.id, level, sinks, stream, problems, ok, dependents: [] };
}

/** Lists and reads one sink's objects of the backup, `concurrency` reads at a time; problems come in the objects' order. */
async function checkSink(sink: Sink, entry: CatalogEntry, objects: Array<[string, PartRecord]>, level: VerifyLevel, subset: VerifyOptions['subset'], concurrency: number): Promise<VerifyReport['sinks'][number]> {
  const { manifest } = entry;
  const problems: VerifyProblem[] = [];
  const result = { sink: sink.name, holds: entry.sinks.includes(sink.name), objects: 0, read: 0, problems };
  const problem = (kind: VerifyProblemKind, object: string | null, key: string | null, what: string) =>
    problems.push({ backup: manifest.id, kind, sink: sink.name, object, key, message: `backup ${manifest.id}, ${object ?? 'data'}${key ? ` (${key})` : ''} in sink ${sink.name}: ${what}` });

  const listed = new Map<string, number>();
  try {
    for await (const object of sink.list(RepositoryKeys.dataPrefix(manifest.id))) listed.set(object.key, object.size);
  } catch (error) {
    problem('unreadable', null, null, `cannot be listed: ${(error as Error).message}`);
    return result;
  }
  if (!result.holds) {
    // Not committed here: fine when the sink simply never had it; damage when its data is there without a manifest.
    const key = RepositoryKeys.manifest(manifest.id);
    const stored = await sink.get(key).then(
      (data) => parseManifest(data, manifest.id).problem ?? null,
      (error: Error) => (error instanceof RastError && error.code === ErrorCode.PART_MISSING ? undefined : `cannot be read: ${error.message}`),
    );
    if (stored === null) result.holds = true;
    else if (stored !== undefined) problem('manifest-damaged', 'manifest', key, `is damaged: ${stored}`);
    else if (listed.size > 0) problem('manifest-missing', 'manifest', key, `is missing, though ${listed.size} of its data objects are there`);
    if (!result.holds && problems.length === 0) return result;
  }

  const limit = pLimit(concurrency);
  const reads: Array<Promise<(() => void) | undefined>> = [];
  for (const [label, part] of objects) {
    const size = listed.get(part.key);
    result.objects++;
    if (size === undefined) {
      reads.push(Promise.resolve(() => problem('missing', label, part.key, 'is missing')));
      continue;
    }
    if (size !== part.storedSize) {
      reads.push(Promise.resolve(() => problem('size', label, part.key, `size ${size}, expected ${part.storedSize}`)));
      continue;
    }
    if (level === 'presence' || (level === 'subset' && !sampled(part.key, subset!))) continue;
    result.read++;
    reads.push(
      limit(async () => {
        try {
          const mismatch = await checkStored(await sink.get(part.key), part);
          return mismatch ? () => problem(/^size/.test(mismatch) ? 'size' : 'checksum', label, part.key, mismatch) : undefined;
        } catch (error) {
          return () => problem(error instanceof RastError && error.code === ErrorCode.PART_MISSING ? 'missing' : 'unreadable', label, part.key, (error as Error).message);
        }
      }),
    );
  }
  for (const report of await Promise.all(reads)) report?.();
  return result;
}
