import { BackupCopier, failedCopy, type BackupCopy } from '../BackupCopier.js';
import type { CatalogEntry } from '../Catalog.js';
import { ErrorCode, RastError } from '../errors.js';
import { interrupted } from '../Interruption.js';
import { ProgressCounter } from '../Progress.js';
import { authenticate, type SignatureCheck } from '../ManifestAuthentication.js';
import type { Runtime } from '../Runtime.js';
import type { Sink } from '../types.js';
import { runOperation } from './lifecycle.js';
import { transferFailed } from '../diagnostics/index.js';

export interface SyncOptions {
  /** Only these backups (ids, unique prefixes or `latest`) and the backups below them in their chains; default every backup. */
  backups?: string[];
  /** Say what would be copied; copy nothing. */
  dryRun?: boolean;
  /** Stops the run (SIGINT, SIGTERM in the CLI): what is copied stays, no manifest is written for a backup not wholly copied. */
  signal?: AbortSignal;
}

/** What `sync` and `copy` did (their `--json`). */
export interface SyncReport {
  dryRun: boolean;
  /** Backups looked at that every sink written to already held. */
  inStep: number;
  /** One per backup and sink that lacked it, ancestors first. */
  copies: BackupCopy[];
  /** Sinks that could not be read: nothing was copied into them. */
  unreachable: Array<{ sink: string; problem: string }>;
  /** Copies committed (or, dry run, that would be). */
  copied: number;
  failed: number;
  /** Objects and stored bytes copied (or to copy). */
  objects: number;
  bytes: number;
}

/**
 * Brings every configured sink in step: each committed backup a sink lacks (an S3 outage during a create left
 * it in the local sink only) is copied into it from the sinks that hold it (BackupCopier), ancestors first.
 * Throws SINK_FAILED with `facts.report` when a copy failed or a sink could not be read; the other sinks are
 * still brought in step.
 */
export async function syncRepository(runtime: Runtime, options: SyncOptions = {}): Promise<SyncReport> {
  return runOperation(runtime, 'sync', {}, async () => {
    const { catalog } = runtime.repository;
    const entries = await selected(runtime, options.backups);
    const unreadable = await catalog.unreadable();
    const targets = runtime.sinks.filter((sink) => !unreadable.some((failed) => failed.sink === sink));
    const progress = copyProgress(runtime, 'sync', options, entries, targets, (entry) => entry.sinks);
    const copier = new BackupCopier(runtime, await runtime.pipeline.hooks.verifier.promise(), { ...options, progress });
    const report = await bringInStep(entries, targets, (entry) => entry.sinks, copier, options.dryRun ?? false, undefined, progress).catch(
      stopped('sync', options),
    );
    report.unreachable = unreadable.map(({ sink, error }) => ({ sink: sink.name, problem: error.message }));
    if (!options.dryRun) catalog.invalidate();
    return outcome(report, 'sync');
  });
}

/**
 * Copies backups (and the backups below them in their chains that the other repository lacks) into the sinks of
 * another repository (`target`, another config's runtime), as stored: same ids, parents and signatures, no
 * re-encryption, so that the copy verifies there on its own. A backup that the other repository's config would
 * refuse (signed by a key it does not trust, unsigned beside signed backups) is not copied, and named.
 */
export async function copyBackups(runtime: Runtime, target: Runtime, options: SyncOptions & { backups: string[] }): Promise<SyncReport> {
  return runOperation(runtime, 'copy', {}, async () => {
    const entries = await selected(runtime, options.backups);
    const there = new Map((await target.repository.catalog.entries()).map((entry) => [entry.manifest.id, entry]));
    const unreadable = await target.repository.catalog.unreadable();
    const targets = target.sinks.filter((sink) => !unreadable.some((failed) => failed.sink === sink));
    const where = `the repository of ${target.config.file ?? 'the other config'}`;
    const refused = new Map<string, string>();
    const holds = new Map<string, string[]>();
    for (const entry of entries) {
      const held = there.get(entry.manifest.id);
      if (!held) continue;
      if (JSON.stringify(held.manifest) !== JSON.stringify(entry.manifest))
        refused.set(entry.manifest.id, `${where} holds another backup with the same id ${entry.manifest.id}`);
      else holds.set(entry.manifest.id, held.sinks);
    }
    // Judged as the other repository's config will judge them once copied.
    const verifier = await target.pipeline.hooks.verifier.promise();
    const incoming = entries.filter((entry) => !there.has(entry.manifest.id));
    const judged = authenticate(verifier, [
      ...[...there.values()].map((entry) => ({ manifest: entry.manifest, signature: signatureOf(entry) })),
      ...incoming.map((entry) => ({
        manifest: entry.manifest,
        signature: entry.manifest.signer ? { signer: entry.manifest.signer.fingerprint } : { unsigned: true as const },
      })),
    ]).slice(there.size);
    incoming.forEach((entry, index) => {
      const judgement = judged[index]!;
      if (judgement.status === 'refused')
        refused.set(
          entry.manifest.id,
          `${where} would refuse it: ${judgement.problem.replace(`backup ${entry.manifest.id} is refused: `, '')}`,
        );
    });
    const held = (entry: CatalogEntry) => holds.get(entry.manifest.id) ?? [];
    const copied = entries.filter((entry) => !refused.has(entry.manifest.id));
    const progress = copyProgress(runtime, 'copy', options, copied, targets, held);
    const copier = new BackupCopier(runtime, await runtime.pipeline.hooks.verifier.promise(), { ...options, progress });
    const report = await bringInStep(entries, targets, held, copier, options.dryRun ?? false, refused, progress).catch(
      stopped('copy', options),
    );
    report.unreachable = unreadable.map(({ sink, error }) => ({ sink: sink.name, problem: error.message }));
    if (!options.dryRun) target.repository.catalog.invalidate();
    return outcome(report, 'copy');
  });
}

/**
 * The progress of a sync or copy (none for a dry run): the stored bytes of every backup into every target that
 * lacks it, done as objects are copied or found already there (the total shrinks by a copy that fails).
 */
function copyProgress(
  runtime: Runtime,
  operation: 'sync' | 'copy',
  options: SyncOptions,
  entries: CatalogEntry[],
  targets: Sink[],
  holds: (entry: CatalogEntry) => string[],
): ProgressCounter | undefined {
  if (options.dryRun) return undefined;
  const total = entries.reduce((sum, entry) => {
    const here = holds(entry);
    return sum + entry.manifest.storedSize * targets.filter((sink) => !here.includes(sink.name)).length;
  }, 0);
  const subject = options.backups ? options.backups.join(' ') : 'every backup';
  return new ProgressCounter(runtime.pipeline.hooks.progress, operation, subject, total);
}

/** The catalog's entries, oldest first; with `references`, those backups and every backup below them in their chains. */
async function selected(runtime: Runtime, references: string[] | undefined): Promise<CatalogEntry[]> {
  const { catalog, graph } = runtime.repository;
  const entries = await catalog.entries();
  if (!references) return ancestorsFirst(entries);
  const wanted = new Set<string>();
  for (const reference of references) {
    const entry = await catalog.resolve(reference);
    // A chain with a parent in no sink cannot be copied whole: chain() names that parent.
    for (const manifest of await graph.chain(entry.manifest)) wanted.add(manifest.id);
  }
  return ancestorsFirst(entries.filter((entry) => wanted.has(entry.manifest.id)));
}

/** Entries ordered so that each comes after its parent (created order, which it nearly always is already). */
function ancestorsFirst(entries: CatalogEntry[]): CatalogEntry[] {
  const byId = new Map(entries.map((entry) => [entry.manifest.id, entry]));
  const ordered: CatalogEntry[] = [];
  const placed = new Set<string>();
  for (const entry of entries) {
    const pending: CatalogEntry[] = [];
    for (let current: CatalogEntry | undefined = entry; current && !placed.has(current.manifest.id);) {
      if (pending.includes(current)) break;
      pending.push(current);
      current = current.manifest.parent === null ? undefined : byId.get(current.manifest.parent);
    }
    for (const item of pending.reverse()) {
      placed.add(item.manifest.id);
      ordered.push(item);
    }
  }
  return ordered;
}

/**
 * Copies each entry into the targets that lack it, in order; a backup whose parent is not in a target (its copy
 * failed) is not committed there. `holds` names the targets that already hold an entry.
 */
async function bringInStep(
  entries: CatalogEntry[],
  targets: Sink[],
  holds: (entry: CatalogEntry) => string[],
  copier: BackupCopier,
  dryRun: boolean,
  refused = new Map<string, string>(),
  progress?: ProgressCounter,
): Promise<SyncReport> {
  const report: SyncReport = { dryRun, inStep: 0, copies: [], unreachable: [], copied: 0, failed: 0, objects: 0, bytes: 0 };
  const held = new Map(entries.map((entry) => [entry.manifest.id, new Set(holds(entry))]));
  for (const entry of entries) {
    const { id, parent } = entry.manifest;
    const here = held.get(id)!;
    const lacking = targets.filter((sink) => !here.has(sink.name));
    if (lacking.length === 0) {
      report.inStep++;
      continue;
    }
    const failed = (sink: Sink, problem: string) => failedCopy(id, sink, problem);
    const problem = refused.get(id);
    const orphaned = (sink: Sink) => parent !== null && held.has(parent) && !held.get(parent)!.has(sink.name);
    if (problem === undefined) progress?.adjustTotal(-entry.manifest.storedSize * lacking.filter(orphaned).length);
    const copies = [
      ...lacking
        .filter((sink) => problem !== undefined || orphaned(sink))
        .map((sink) => failed(sink, problem ?? `backup ${id} not copied into sink ${sink.name}: its parent ${parent} is not there`)),
      ...(problem !== undefined
        ? []
        : await copier.copy(
            entry,
            lacking.filter((sink) => !orphaned(sink)),
          )),
    ];
    for (const copy of copies) {
      report.copies.push(copy);
      if (copy.status === 'failed') {
        report.failed++;
        continue;
      }
      here.add(copy.sink);
      report.copied++;
      report.objects += copy.objects;
      report.bytes += copy.bytes;
    }
  }
  return report;
}

/** Replaces the error of a run stopped by its signal with one saying what it leaves. */
function stopped(operation: 'sync' | 'copy', options: SyncOptions): (error: unknown) => never {
  return (error) => {
    if (!(error instanceof RastError) || error.code !== ErrorCode.INTERRUPTED || !options.signal?.aborted) throw error;
    throw interrupted(
      options.signal,
      operation,
      'the backups it committed stay; the objects it copied of the one it was copying stay too, without a manifest, for the next run',
    );
  };
}

/** The signature check the catalog's judgement stands for. */
function signatureOf(entry: CatalogEntry): SignatureCheck | undefined {
  const { authentication } = entry;
  if (authentication.status === 'signed') return { signer: authentication.signer };
  if (authentication.status === 'refused') return { problem: authentication.problem };
  return entry.manifest.signer ? { signer: entry.manifest.signer.fingerprint } : { unsigned: true };
}

/** The report, or SINK_FAILED carrying it when a copy failed or a sink could not be read. */
function outcome(report: SyncReport, operation: 'sync' | 'copy'): SyncReport {
  const failures = [
    ...report.unreachable.map(({ sink, problem }) => `sink ${sink} could not be read, nothing was copied into it: ${problem}`),
    ...report.copies
      .filter((copy) => copy.status === 'failed')
      .map((copy) => `backup ${copy.backup} into sink ${copy.sink}: ${copy.problem}`),
  ];
  if (failures.length === 0) return report;
  throw transferFailed(operation, failures, report.copied, {
    report,
    sinks: [...new Set([...report.unreachable.map((failure) => failure.sink), ...report.copies.map((copy) => copy.sink)])],
  });
}
