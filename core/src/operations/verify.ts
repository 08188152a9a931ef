import { createHash } from 'node:crypto';
import pLimit from 'p-limit';
import { cannotCheck, formatMissing, verifyFailed } from '../diagnostics/index.js';
import { ErrorCode, RastError } from '../errors.js';
import { parseManifest, type Manifest, type PartRecord } from '../Manifest.js';
import type { CatalogEntry } from '../Catalog.js';
import { checkStored } from '../PartChecksum.js';
import { collectIfGrown } from '../GarbageBudget.js';
import { ProgressCounter } from '../Progress.js';
import { RepositoryKeys } from '../RepositoryKeys.js';
import { DamagedStreamPlace } from '../DamagedStreamPlace.js';
import { indexBlocksListed } from '../IndexBlocksListed.js';
import type { IndexBlock } from '../IndexRun.js';
import { partLabel, type ReadPart } from '../PartReader.js';
import type { Runtime } from '../Runtime.js';
import type { Sink } from '../types.js';
import { runOperation } from './lifecycle.js';

/**
 * How much verify reads:
 * - `presence`: lists each sink; every object is there with its recorded size. Downloads only the file index's header (its blocks' list).
 * - `subset`: presence, plus one rotating group of the objects downloaded and checked against their SHA-256.
 * - `full`: the stream decoded end to end, each part checked as it is read, and every object downloaded and
 *   checked in every sink (a copy the stream read is not read again).
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

export type VerifyProblemKind =
  'missing' | 'size' | 'checksum' | 'manifest-missing' | 'manifest-damaged' | 'unreadable' | 'chain' | 'ancestor' | 'stream' | 'signature';

/** One piece of damage, naming the backup, the sink and the object where they apply. */
export interface VerifyProblem {
  backup: string;
  kind: VerifyProblemKind;
  sink: string | null;
  /** `part 2 of 5`, `file index`, `manifest`. */
  object: string | null;
  key: string | null;
  /** Kind `ancestor`: the damaged backup below this one in its chain. */
  ancestor?: string;
  message: string;
}

/** `intact`: all the level asks for was checked and is good; `damaged`: damage found; `unchecked`: no damage found, but not all could be checked. */
export type VerifyStatus = 'intact' | 'damaged' | 'unchecked';

export interface VerifyReport {
  backup: string;
  level: VerifyLevel;
  status: VerifyStatus;
  /** `true` intact, `false` damaged, `null` when it could not all be checked (see `undecodable`). */
  ok: boolean | null;
  /** Each configured sink: whether it holds the backup, objects listed and read there, problems found. */
  sinks: Array<{ sink: string; holds: boolean; objects: number; read: number; problems: VerifyProblem[] }>;
  /** Problem found decoding the stream end to end (`full` only), if any. */
  stream: string | null;
  /**
   * Why this host cannot decode the backup (a key, passphrase, plugin or tool it lacks: `code` says which
   * error), found at every level without reading; at `full` it leaves the stream unchecked. Not damage.
   */
  undecodable: { code: string; message: string } | null;
  /** Problems that are no sink's: a broken chain, a damaged ancestor, the stream. */
  problems: VerifyProblem[];
  /** When damaged: the backups whose restore needs this one (its incrementals, theirs, …). */
  dependents: string[];
  /**
   * When damaged in a way `repair` may mend (a good copy in another sink, a file index to rebuild), or when a
   * re-sign of its manifest was cut short (`resignUnfinished`): the command to run.
   */
  repair?: string;
  /** Sinks holding a `.sig.next` beside the manifest: a re-sign cut short. Not damage: `repair` finishes it. */
  resignUnfinished?: string[];
  /** `verify <id>` only: the reports of the backups below it in its chain, the full backup first. */
  ancestors?: VerifyReport[];
}

export interface VerifyAllReport {
  level: VerifyLevel;
  status: VerifyStatus;
  ok: boolean | null;
  backups: VerifyReport[];
  /** Ids of the backups damaged themselves. */
  damaged: string[];
  /** Backups not damaged themselves that depend on a damaged one (each has an `ancestor` problem). */
  affected: string[];
  /** Ids of the backups that could not be checked in full (and are not damaged). */
  unchecked: string[];
}

/** Errors that come from this host (its config, keys, plugins, tools), not from the stored data: they leave a backup unchecked, not damaged. */
const HOST_PROBLEMS = new Set<ErrorCode>([
  ErrorCode.CONFIG_SYNTAX,
  ErrorCode.CONFIG_INVALID,
  ErrorCode.CONFIG_NOT_FOUND,
  ErrorCode.PLUGIN_NOT_FOUND,
  ErrorCode.PLUGIN_INVALID,
  ErrorCode.TRANSFORM_FAILED,
  ErrorCode.TOOL_MISSING,
]);

const isHostProblem = (error: unknown): error is RastError => error instanceof RastError && HOST_PROBLEMS.has(error.code);

const levelOf = (options: Omit<VerifyOptions, 'backup'>): VerifyLevel => (options.subset ? 'subset' : (options.level ?? 'full'));

/** The options of one verify run, with its progress: bytes downloaded and checked, and stream bytes decoded. */
type CheckOptions = Omit<VerifyOptions, 'backup'> & { progress: ProgressCounter };

/** Counts verify's progress over `entries`: every object from each sink that holds it (a share at subset), and the stream at full. */
function verifyProgress(
  runtime: Runtime,
  subject: string,
  entries: CatalogEntry[],
  options: Omit<VerifyOptions, 'backup'>,
): ProgressCounter {
  const level = levelOf(options);
  const share = level === 'full' ? 1 : level === 'subset' ? options.subset!.percent / 100 : 0;
  const total = entries.reduce(
    (sum, { manifest, sinks }) => sum + manifest.storedSize * sinks.length * share + (level === 'full' ? manifest.size : 0),
    0,
  );
  return new ProgressCounter(runtime.pipeline.hooks.progress, 'verify', subject, Math.round(total), level === 'subset');
}

/** Whether an object belongs to this run's group of the sample. */
function sampled(key: string, subset: { percent: number; run: number }): boolean {
  const groups = Math.max(1, Math.round(100 / subset.percent));
  return createHash('sha256').update(key).digest().readUInt32BE(0) % groups === subset.run % groups;
}

/**
 * Verifies one backup and the backups below it in its chain (what a restore of it reads). Exits with
 * VERIFY_FAILED on any damage, else with CANNOT_CHECK when not all could be checked (both with facts.report).
 */
export async function verifyBackup(runtime: Runtime, options: VerifyOptions): Promise<VerifyReport> {
  const { catalog, graph } = runtime.repository;
  return runOperation(runtime, 'verify', { backupId: options.backup }, async (event) => {
    const entry = await catalog.resolve(options.backup).catch(async (error: unknown) => {
      const damaged =
        error instanceof RastError && error.code === ErrorCode.BACKUP_NOT_FOUND
          ? (await damagedManifests(runtime, levelOf(options))).find((report) => report.backup === options.backup)
          : undefined;
      if (!damaged) throw error;
      damaged.dependents = await graph.descendants([damaged.backup]);
      throw outcome(damaged)!;
    });
    event.backupId = entry.manifest.id;
    const checked = new Map<string, VerifyReport>();
    const chain = await graph.chain(entry.manifest).catch(() => [entry.manifest]);
    const entries = new Map((await catalog.entries()).map((candidate) => [candidate.manifest.id, candidate]));
    const inChain = chain.flatMap((manifest) => entries.get(manifest.id) ?? []);
    const progress = verifyProgress(runtime, entry.manifest.id, inChain, options);
    const report = await checkWithChain(runtime, entry, { ...options, progress }, checked);
    report.ancestors = [...checked.values()].filter((ancestor) => ancestor !== report);
    if (report.status === 'damaged') report.dependents = await graph.descendants([entry.manifest.id]);
    const failure = outcome(report);
    if (failure) throw failure;
    return report;
  });
}

/**
 * Verifies every backup, each once (an ancestor checked for one incremental is not checked again for the
 * next), and finds backups that exist in no readable form: manifests damaged in every sink. Exits with
 * VERIFY_FAILED on any damage, else with CANNOT_CHECK when not all could be checked (both with facts.report).
 */
export async function verifyAll(runtime: Runtime, options: Omit<VerifyOptions, 'backup'>): Promise<VerifyAllReport> {
  const { catalog, graph } = runtime.repository;
  return runOperation(runtime, 'verify', {}, async () => {
    const entries = await catalog.entries();
    const checked = new Map<string, VerifyReport>();
    const backups: VerifyReport[] = [];
    const progress = verifyProgress(runtime, 'every backup', entries, options);
    for (const entry of entries) backups.push(await checkWithChain(runtime, entry, { ...options, progress }, checked));
    backups.push(...(await damagedManifests(runtime, levelOf(options))));
    const damaged = backups.filter(ownDamage).map((report) => report.backup);
    for (const report of backups) if (report.status === 'damaged') report.dependents = await graph.descendants([report.backup]);
    const affected = (await graph.descendants(damaged)).filter((id) => !damaged.includes(id));
    const unchecked = backups.filter((report) => report.status === 'unchecked').map((report) => report.backup);
    const status: VerifyStatus = damaged.length > 0 ? 'damaged' : unchecked.length > 0 ? 'unchecked' : 'intact';
    const report: VerifyAllReport = { level: levelOf(options), status, ok: okOf(status), backups, damaged, affected, unchecked };
    if (status === 'damaged') {
      const first = backups.find((candidate) => candidate.status === 'damaged')!;
      throw verifyFailed(`${damaged.length} damaged backup${damaged.length === 1 ? '' : 's'}, first: ${firstProblem(first)}`, { report });
    }
    if (status === 'unchecked') {
      const first = backups.find((candidate) => candidate.status === 'unchecked')!;
      throw cannotCheck(
        `${unchecked.length} backup${unchecked.length === 1 ? '' : 's'}`,
        `first: ${first.backup}: ${first.undecodable?.message ?? 'a backup it needs could not be checked'}`,
        { report },
      );
    }
    return report;
  });
}

/** Whether the backup is damaged itself, not only through a damaged ancestor. */
const ownDamage = (report: VerifyReport): boolean =>
  report.problems.some((problem) => problem.kind !== 'ancestor') || report.sinks.some((sink) => sink.problems.length > 0);

/** Whether a restore would fail on what the report found: a problem that is no sink's, or an object with no good copy in any sink. */
function restoreFails(report: VerifyReport, manifest: Manifest): boolean {
  if (report.problems.some((problem) => problem.kind !== 'ancestor')) return true;
  const good = report.sinks.filter(
    (sink) => sink.holds && !sink.problems.some((problem) => problem.key === null || problem.object === 'manifest'),
  );
  return [...manifest.parts, manifest.index].some(
    (part) => !good.some((sink) => !sink.problems.some((problem) => problem.key === part.key)),
  );
}

const okOf = (status: VerifyStatus): boolean | null => (status === 'intact' ? true : status === 'damaged' ? false : null);

/** The error a report ends verify with, or undefined when it is intact. */
function outcome(report: VerifyReport): RastError | undefined {
  if (report.status === 'damaged') return verifyFailed(firstProblem(report), { backup: report.backup, report });
  if (report.status === 'unchecked') {
    const reason = report.undecodable ?? report.ancestors?.find((ancestor) => ancestor.undecodable)?.undecodable;
    return cannotCheck(`backup ${report.backup}`, reason?.message ?? 'a backup it needs could not be checked', {
      backup: report.backup,
      report,
    });
  }
  return undefined;
}

function firstProblem(report: VerifyReport): string {
  const message = [...report.sinks.flatMap((sink) => sink.problems), ...report.problems][0]?.message ?? 'unknown problem';
  return `${message}${repairHint(report)}`;
}

/** Damage `repair` may mend: an object or manifest bad in a sink (a good copy elsewhere, or a file index its stream can rebuild). */
const REPAIRABLE = new Set<VerifyProblemKind>(['missing', 'size', 'checksum', 'manifest-missing', 'manifest-damaged']);

/** The suggestion to run `repair`, when the report holds damage it may mend. */
function repairHint(report: VerifyReport): string {
  if (!report.sinks.some((sink) => sink.problems.some((problem) => REPAIRABLE.has(problem.kind)))) return '';
  const held = report.sinks.some((sink) => sink.holds);
  return held
    ? ` (run rast-backup repair ${report.backup}: it mends what a good copy in another sink or the backup's stream can replace)`
    : '';
}

/** Backups whose manifest is damaged in every sink that holds one: lost to list and restore. */
async function damagedManifests(runtime: Runtime, level: VerifyLevel): Promise<VerifyReport[]> {
  const reports = new Map<string, VerifyReport>();
  for (const { id, sink, key, problem } of await runtime.repository.catalog.damagedManifests()) {
    const report = reports.get(id) ?? {
      backup: id,
      level,
      status: 'damaged',
      ok: false,
      sinks: [],
      stream: null,
      undecodable: null,
      problems: [],
      dependents: [],
    };
    report.sinks.push({
      sink,
      holds: false,
      objects: 0,
      read: 0,
      problems: [
        {
          backup: id,
          kind: 'manifest-damaged',
          sink,
          object: 'manifest',
          key,
          message: `backup ${id}, manifest (${key}) in sink ${sink} is damaged: ${problem}`,
        },
      ],
    });
    reports.set(id, report);
  }
  return [...reports.values()];
}

/**
 * Checks a backup and every backup below it in its chain, each once per `checked` (which gathers their
 * reports, oldest first). A damaged ancestor makes the backup damaged, naming it and whether a restore
 * would fail on it or read the good copies in other sinks.
 */
async function checkWithChain(
  runtime: Runtime,
  entry: CatalogEntry,
  options: CheckOptions,
  checked: Map<string, VerifyReport>,
): Promise<VerifyReport> {
  const { manifest } = entry;
  const known = checked.get(manifest.id);
  if (known) return known;
  const report = await checkBackup(runtime, entry, options);
  let chain: Manifest[] = [manifest];
  const { authentication } = entry;
  if (authentication.status === 'refused')
    report.problems.push({
      backup: manifest.id,
      kind: 'signature',
      sink: null,
      object: 'manifest',
      key: null,
      message: authentication.problem,
    });
  try {
    chain = await runtime.repository.graph.chain(manifest);
  } catch (error) {
    const own = error instanceof RastError && error.code === ErrorCode.BACKUP_UNAUTHENTICATED && error.facts.backup === manifest.id;
    if (!own)
      report.problems.push({ backup: manifest.id, kind: 'chain', sink: null, object: null, key: null, message: (error as Error).message });
  }
  const entries = new Map((await runtime.repository.catalog.entries()).map((candidate) => [candidate.manifest.id, candidate]));
  let ancestorUnchecked = false;
  for (const ancestor of chain.slice(0, -1)) {
    const ancestorReport = await checkWithChain(runtime, entries.get(ancestor.id)!, options, checked);
    if (ownDamage(ancestorReport)) {
      const damagedIn = ancestorReport.sinks.filter((sink) => sink.problems.length > 0).map((sink) => sink.sink);
      const message = restoreFails(ancestorReport, ancestor)
        ? `backup ${manifest.id} cannot be restored: it needs backup ${ancestor.id}, which is damaged`
        : `backup ${manifest.id} needs backup ${ancestor.id}, which is damaged in sink ${damagedIn.join(', ')} (a restore reads the good copies in the other sinks)`;
      report.problems.push({ backup: manifest.id, kind: 'ancestor', sink: null, object: null, key: null, ancestor: ancestor.id, message });
    }
    if (ancestorReport.status === 'unchecked') ancestorUnchecked = true;
  }
  const damaged = report.problems.length > 0 || report.sinks.some((sink) => sink.problems.length > 0);
  report.status = damaged ? 'damaged' : report.level === 'full' && (report.undecodable || ancestorUnchecked) ? 'unchecked' : 'intact';
  report.ok = okOf(report.status);
  const resigning = await runtime.repository.catalog.unfinishedResign(manifest.id);
  if (resigning.length > 0) report.resignUnfinished = resigning;
  if (repairHint(report) || resigning.length > 0) report.repair = `rast-backup repair ${manifest.id}`;
  checked.set(manifest.id, report);
  return report;
}

/** Checks one backup's own objects and stream at the level asked for; never throws for damage, only reports it. */
async function checkBackup(runtime: Runtime, entry: CatalogEntry, options: CheckOptions): Promise<VerifyReport> {
  const { manifest } = entry;
  const level = levelOf(options);
  const blocks = await indexBlocks(runtime, manifest);
  const objects: Array<[string, PartRecord]> = [
    ...manifest.parts.map((part, seq): [string, PartRecord] => [`part ${seq + 1} of ${manifest.parts.length}`, part]),
    ['file index', manifest.index],
    ...(blocks ?? []).map((block, n, all): [string, PartRecord] => [`file index block ${n + 1} of ${all.length}`, block]),
  ];
  const problems: VerifyProblem[] = [];
  let undecodable: VerifyReport['undecodable'] = null;
  const cannotDecode = (error: unknown) => {
    if (!isHostProblem(error)) throw error;
    undecodable = { code: error.code, message: error.message };
  };
  const { parts } = runtime.repository;
  await parts.checkDecodable(manifest).catch(cannotDecode);
  // The stream is decoded first: each part it reads from a sink is checked (SHA-256) in the same pass, and
  // the sink's own check below does not read that copy again.
  const checked = new Set<string>();
  const reads: Array<Promise<unknown>> = [];
  let stream: string | null = null;
  if (level === 'full' && !undecodable) {
    const place = new DamagedStreamPlace([manifest]);
    try {
      const format = runtime.pipeline.hooks.format.get(manifest.serializer.format)?.call();
      if (!format) throw formatMissing(manifest.serializer.format, { backup: manifest.id, plugin: manifest.serializer.plugin });
      // The index objects the format reads to compare are checked as they are read, like the parts: not read again below.
      const index = await runtime.repository.indexes.open(manifest, {
        good: (sink, object) => checked.add(`${sink.name}\0${object.key}`),
      });
      const readPart: ReadPart = (of, seq, into) => {
        const reading = parts.readPlain(
          of,
          of.parts[seq]!,
          partLabel(of, seq),
          (sink) => {
            checked.add(`${sink.name}\0${of.parts[seq]!.key}`);
            place.read(of, seq, sink.name);
          },
          into,
        );
        // Whether it settled, not the part: holding every part would hold the whole stream (2.3 GiB at 2 GiB).
        reads.push(
          reading.then(
            () => {},
            () => {},
          ),
        );
        return reading;
      };
      const plain = parts.openStream(manifest, readPart, smallFiles(manifest) ? 1 : undefined);
      await format.verify({ manifest, index, stream: options.progress.counted(plain) });
    } catch (error) {
      if (isHostProblem(error)) cannotDecode(error);
      else {
        const named = place.named(error) as Error;
        const facts = named instanceof RastError ? named.facts : {};
        stream = named.message;
        const sink = typeof facts.sink === 'string' ? facts.sink : null;
        const key = typeof facts.part === 'string' ? facts.part : null;
        problems.push({ backup: manifest.id, kind: 'stream', sink, object: null, key, message: stream });
      }
    }
  }
  // Parts read ahead when the stream stopped (damage) finish first: each copy is then read once, whatever the timing.
  await Promise.all(reads);
  const sinks: VerifyReport['sinks'] = [];
  for (const sink of runtime.sinks)
    sinks.push(await checkSink(sink, entry, objects, !blocks, level, options, runtime.settings.concurrency, checked));
  return { backup: manifest.id, level, status: 'intact', ok: true, sinks, stream, undecodable, problems, dependents: [] };
}

/** Stream bytes per file index entry below which a full backup counts as many small files (see smallFiles). */
const SMALL_FILE = 64 * 1024;

/**
 * Whether a full backup holds many small files: its stream is then decoded and indexed on the main thread slower
 * than its parts are fetched and decoded, so one part read ahead keeps up, in half the part buffers of three.
 */
function smallFiles(manifest: Manifest): boolean {
  return manifest.parent === null && manifest.size < manifest.index.entries * SMALL_FILE;
}

/**
 * The blocks of the backup's index run, from its header or this host's kept copy; undefined when this host can read
 * neither (each sink's listing is then checked instead). A damaged header gives none: it is reported as the file index.
 */
async function indexBlocks(runtime: Runtime, manifest: Manifest): Promise<IndexBlock[] | undefined> {
  try {
    return await runtime.repository.indexes.blocksOrKept(manifest);
  } catch {
    return [];
  }
}

/** Lists and reads one sink's objects of the backup, `concurrency` reads at a time; problems come in the objects' order. */
async function checkSink(
  sink: Sink,
  entry: CatalogEntry,
  objects: Array<[string, PartRecord]>,
  /** Whether the index blocks are not among `objects` and are found in the listing (indexBlocksListed). */
  listBlocks: boolean,
  level: VerifyLevel,
  { subset, progress }: CheckOptions,
  concurrency: number,
  /** `<sink>\0<key>` of the copies already read and found good (by the stream pass). */
  checked: Set<string>,
): Promise<VerifyReport['sinks'][number]> {
  const { manifest } = entry;
  const problems: VerifyProblem[] = [];
  const result = { sink: sink.name, holds: entry.sinks.includes(sink.name), objects: 0, read: 0, problems };
  const problem = (kind: VerifyProblemKind, object: string | null, key: string | null, what: string) =>
    problems.push({
      backup: manifest.id,
      kind,
      sink: sink.name,
      object,
      key,
      message: `backup ${manifest.id}, ${object ?? 'data'}${key ? ` (${key})` : ''} in sink ${sink.name}: ${what}`,
    });

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
      (error: Error) =>
        error instanceof RastError && error.code === ErrorCode.PART_MISSING ? undefined : `cannot be read: ${error.message}`,
    );
    if (stored === null) result.holds = true;
    else if (stored !== undefined) problem('manifest-damaged', 'manifest', key, `is damaged: ${stored}`);
    else if (listed.size > 0)
      problem('manifest-missing', 'manifest', key, `is missing, though ${listed.size} of its data objects are there`);
    if (!result.holds && problems.length === 0) return result;
  }

  if (listBlocks) {
    const found = indexBlocksListed(manifest, listed);
    if ('blocks' in found) result.objects += found.blocks.length;
    else if (found.problem === 'missing') problem('missing', `file index block ${found.block + 1}`, found.key, 'is missing');
    else problem('size', 'file index blocks', null, found.message);
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
    if (checked.has(`${sink.name}\0${part.key}`)) {
      progress.add(part.storedSize);
      continue;
    }
    reads.push(
      limit(async () => {
        try {
          collectIfGrown();
          const mismatch = await checkStored(await sink.get(part.key), part);
          progress.add(part.storedSize);
          return mismatch ? () => problem(mismatch.kind, label, part.key, mismatch.message) : undefined;
        } catch (error) {
          return () =>
            problem(
              error instanceof RastError && error.code === ErrorCode.PART_MISSING ? 'missing' : 'unreadable',
              label,
              part.key,
              (error as Error).message,
            );
        }
      }),
    );
  }
  for (const report of await Promise.all(reads)) report?.();
  return result;
}
