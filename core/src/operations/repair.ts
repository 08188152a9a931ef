import type { CatalogEntry } from '../Catalog.js';
import { ErrorCode, RastError } from '../errors.js';
import { getOptional } from '../SinkKeys.js';
import { rebuildIndex } from '../IndexRebuild.js';
import { manifestBytes, parseManifest, type Manifest, type PartRecord } from '../Manifest.js';
import { readSignature } from '../ManifestAuthentication.js';
import { finishSignature, replaceManifest } from '../ManifestReplacement.js';
import { copyObject } from '../ObjectCopy.js';
import { checkStored } from '../PartChecksum.js';
import { partLabel } from '../PartReader.js';
import { ProgressCounter } from '../Progress.js';
import { RepositoryKeys } from '../RepositoryKeys.js';
import type { Runtime } from '../Runtime.js';
import type { IndexView } from '../IndexView.js';
import type { Sink } from '../types.js';
import { runOperation } from './lifecycle.js';
import { formatMissing, indexNotRebuilt, parentMissing, repairIncomplete, sinksUnreadable } from '../diagnostics/index.js';

export interface RepairOptions {
  /** Id, unique prefix or `latest`: that backup and the backups below it in its chain. */
  backup?: string;
  /** Every backup. */
  all?: boolean;
  /** Find what is damaged and say what would be done, changing nothing. */
  dryRun?: boolean;
}

/** One thing repair did (or, with dryRun, would do). */
export interface RepairAction {
  backup: string;
  /** The sink written to; null for a change made in every sink that holds the backup. */
  sink: string | null;
  /** `manifest`, `part 2 of 5`, `file index`, `file index block 1 of 3`. */
  object: string;
  key: string | null;
  message: string;
}

/** Damage repair cannot mend: nothing was removed for it. */
export interface RepairFailure {
  backup: string;
  sink: string | null;
  object: string | null;
  key: string | null;
  message: string;
}

export interface BackupRepair {
  backup: string;
  repaired: RepairAction[];
  unrepairable: RepairFailure[];
}

export interface RepairReport {
  dryRun: boolean;
  /** `intact`: nothing to do; `repaired`: all damage found was mended (or would be); `incomplete`: some could not be. */
  status: 'intact' | 'repaired' | 'incomplete';
  backups: BackupRepair[];
  repaired: number;
  unrepairable: number;
}

type Problem = 'missing' | 'size' | 'checksum' | 'unreadable';

/**
 * Mends a repository from what survives: a manifest damaged or missing in a sink (copied back from a sink
 * with the good one), an object bad in one sink (stored again from a good copy in another, checked by size
 * and SHA-256), a file index lost or damaged everywhere (rebuilt from the backup's stream, see rebuildIndex).
 * Backups are mended oldest first, so that an incremental's index is rebuilt over its parent's mended one.
 * Never removes data it cannot replace. Throws REPAIR_INCOMPLETE (with facts.report) when damage is left.
 */
export async function repairBackups(runtime: Runtime, options: RepairOptions): Promise<RepairReport> {
  const { catalog, graph } = runtime.repository;
  return runOperation(runtime, 'repair', { backupId: options.backup }, async (event) => {
    const entries = await catalog.entries();
    const unreadable = await catalog.unreadable();
    if (unreadable.length > 0) throw sinksUnreadable('repair', unreadable);
    let targets: CatalogEntry[];
    const backups: BackupRepair[] = [];
    if (options.all) {
      targets = entries;
      for (const damaged of await catalog.damagedManifests()) {
        backups.push({
          backup: damaged.id,
          repaired: [],
          unrepairable: [
            {
              backup: damaged.id,
              sink: damaged.sink,
              object: 'manifest',
              key: damaged.key,
              message: `backup ${damaged.id}: its manifest is damaged in every sink that holds one (${damaged.sink}: ${damaged.problem}): no good copy to restore it from`,
            },
          ],
        });
      }
    } else {
      const entry = await catalog.resolve(options.backup!);
      event.backupId = entry.manifest.id;
      const chain = await graph.chain(entry.manifest);
      const byId = new Map(entries.map((candidate) => [candidate.manifest.id, candidate]));
      targets = chain.map((manifest) => byId.get(manifest.id)!);
    }
    // Every object is read from each sink that holds the backup: the stored bytes of each, once per sink.
    const progress = new ProgressCounter(
      runtime.pipeline.hooks.progress,
      'repair',
      options.all ? 'every backup' : event.backupId!,
      targets.reduce((sum, entry) => sum + entry.manifest.storedSize * entry.sinks.length, 0),
    );
    for (const entry of targets) {
      const counted = { expected: entry.manifest.storedSize * entry.sinks.length, done: 0 };
      backups.push(await repairBackup(runtime, entry, options.dryRun === true, progress, counted));
      // What was not read after all (a backup refused, a header lost), or read beyond (a sink holding data without the manifest).
      progress.adjustTotal(counted.done - counted.expected);
    }
    if (!options.dryRun) catalog.invalidate();
    const repaired = backups.reduce((sum, backup) => sum + backup.repaired.length, 0);
    const unrepairable = backups.reduce((sum, backup) => sum + backup.unrepairable.length, 0);
    const status = unrepairable > 0 ? 'incomplete' : repaired > 0 ? 'repaired' : 'intact';
    const report: RepairReport = { dryRun: options.dryRun === true, status, backups, repaired, unrepairable };
    if (unrepairable > 0) {
      const first = backups.flatMap((backup) => backup.unrepairable)[0]!;
      throw repairIncomplete(unrepairable, repaired, options.dryRun === true, first.message, report);
    }
    return report;
  });
}

/** What one backup needs, done in order: its manifest in every sink, then its objects, then its file index. */
async function repairBackup(
  runtime: Runtime,
  entry: CatalogEntry,
  dryRun: boolean,
  progress: ProgressCounter,
  counted: { done: number },
): Promise<BackupRepair> {
  const { manifest } = entry;
  const id = manifest.id;
  const result: BackupRepair = { backup: id, repaired: [], unrepairable: [] };
  const did = (sink: string | null, object: string, key: string | null, message: string) =>
    result.repaired.push({ backup: id, sink, object, key, message: `backup ${id}, ${object}${key ? ` (${key})` : ''}: ${message}` });
  const cannot = (sink: string | null, object: string | null, key: string | null, message: string) =>
    result.unrepairable.push({
      backup: id,
      sink,
      object,
      key,
      message: `backup ${id}${object ? `, ${object}` : ''}${key ? ` (${key})` : ''}: ${message}`,
    });
  if (entry.authentication.status === 'refused') {
    cannot(null, 'manifest', RepositoryKeys.manifest(id), `${entry.authentication.problem}; an unauthenticated backup is left as it is`);
    return result;
  }
  const will = dryRun ? 'would be ' : '';

  // The manifest: copied back where it is damaged, or missing beside the backup's data.
  const holders = await mendManifests(runtime, entry, dryRun, (sink, key, message) => did(sink, 'manifest', key, `${will}${message}`));

  // Every object: stored again from a good copy where one sink's is bad.
  const objects: Array<[string, PartRecord]> = manifest.parts.map((part, seq) => [partLabel(manifest, seq), part]);
  objects.push(['file index', manifest.index]);
  let indexLost = false;
  let streamLost = false;
  const mend = async (label: string, record: PartRecord): Promise<boolean> => {
    const good: Sink[] = [];
    const bad: Array<[Sink, Problem, string]> = [];
    for (const sink of holders) {
      const problem = await inspect(sink, record);
      counted.done += record.storedSize;
      progress.add(record.storedSize);
      if (problem) bad.push([sink, ...problem]);
      else good.push(sink);
    }
    if (good.length === 0) return false;
    for (const [sink, , why] of bad) {
      if (!dryRun) await copyObject(record, good, sink, { durable: true, label: `backup ${manifest.id}, ${label}` });
      did(sink.name, label, record.key, `${will}stored again in sink ${sink.name} from sink ${good[0]!.name} (it was ${why})`);
    }
    return true;
  };
  for (const [label, record] of objects) {
    if (await mend(label, record)) continue;
    if (record === manifest.index) indexLost = true;
    else {
      streamLost = true;
      cannot(null, label, record.key, 'no good copy in any sink: it cannot be repaired (nothing was removed)');
    }
  }
  if (!indexLost) {
    const header = await runtime.repository.indexes.header(manifest).catch(() => undefined);
    if (!header) indexLost = (await runtime.repository.indexes.blocks(manifest).catch(() => undefined)) === undefined;
    for (const [n, block] of (header?.blocks ?? []).entries())
      if (!(await mend(`file index block ${n + 1} of ${header!.blocks.length}`, block))) indexLost = true;
  }
  if (!indexLost) return result;

  // The file index, rebuilt from the stream.
  if (streamLost) {
    cannot(null, 'file index', manifest.index.key, 'it is lost, and cannot be rebuilt from a stream that has parts with no good copy');
    return result;
  }
  if (dryRun) {
    did(null, 'file index', manifest.index.key, 'would be rebuilt from the backup stream');
    return result;
  }
  try {
    await rebuild(runtime, manifest, holders, (message) => did(null, 'file index', manifest.index.key, message));
  } catch (error) {
    if (!(error instanceof RastError) || error.code === ErrorCode.SINK_FAILED) throw error;
    cannot(null, 'file index', manifest.index.key, `it is lost and was not rebuilt: ${error.message}`);
  }
  return result;
}

/**
 * Makes every sink that holds the backup (a manifest, or data of it) hold the good manifest and its signature;
 * returns those sinks. The good copy is the catalog's (authenticated when signing is on), read back byte for byte,
 * with the signature that verifies it. A re-sign cut short (`.sig.next` left beside the manifest) is finished.
 */
async function mendManifests(
  runtime: Runtime,
  entry: CatalogEntry,
  dryRun: boolean,
  did: (sink: string, key: string, message: string) => void,
): Promise<Sink[]> {
  const { manifest } = entry;
  const key = RepositoryKeys.manifest(manifest.id);
  const signatureKey = RepositoryKeys.signature(manifest.id);
  const nextKey = RepositoryKeys.nextSignature(manifest.id);
  const verifier = await runtime.pipeline.hooks.verifier.promise();
  const expected = JSON.stringify(manifest);
  let good: { data: Buffer; signature?: Buffer; sink: Sink } | undefined;
  const sources = runtime.sinks.filter((candidate) => entry.sinks.includes(candidate.name));
  // Without a verifier, which of `.sig` and `.sig.next` is good cannot be told: a sink without `.sig.next` is preferred.
  const pending = new Set<Sink>();
  if (!verifier) for (const sink of sources) if (await getOptional(sink, nextKey)) pending.add(sink);
  for (const sink of [...sources.filter((source) => !pending.has(source)), ...pending]) {
    const data = await getOptional(sink, key);
    const parsed = data && parseManifest(data, manifest.id).manifest;
    if (!data || !parsed || JSON.stringify(parsed) !== expected) continue;
    if (verifier) {
      const stored = await readSignature(verifier, sink, manifest, data);
      if (manifest.signer && !stored.signature) continue;
      good = { data, signature: stored.signature, sink };
    } else good = { data, signature: await getOptional(sink, signatureKey), sink };
    break;
  }
  if (!good) return sources;
  const holders: Sink[] = [];
  for (const sink of runtime.sinks) {
    const data = await getOptional(sink, key);
    let why: string | undefined;
    if (!data) {
      let hasData = false;
      for await (const _ of sink.list(RepositoryKeys.dataPrefix(manifest.id))) {
        hasData = true;
        break;
      }
      // Never held here (`sync` brings a sink in step): not damage.
      if (!hasData) continue;
      why = 'missing beside its data';
    } else if (!data.equals(good.data)) {
      const problem = parseManifest(data, manifest.id).problem;
      why = problem ? `damaged: ${problem}` : 'not the good copy';
    }
    holders.push(sink);
    if (why) {
      if (!dryRun) await replaceManifest(sink, manifest.id, good.data, good.signature);
      did(sink.name, key, `copied back to sink ${sink.name} from sink ${good.sink.name} (it was ${why})`);
      continue;
    }
    if (!good.signature) continue;
    const left = verifier ? await getOptional(sink, nextKey) : undefined;
    if ((await getOptional(sink, signatureKey))?.equals(good.signature)) {
      if (!left) continue;
      if (!dryRun) await sink.delete(nextKey);
      did(
        sink.name,
        nextKey,
        `removed from sink ${sink.name}: a re-sign cut short left it, and the signature beside the manifest verifies it`,
      );
      continue;
    }
    if (!dryRun) await finishSignature(sink, manifest.id, good.signature);
    did(
      sink.name,
      key,
      left
        ? `finished in sink ${sink.name}, where a re-sign was cut short: ${signatureKey} now holds the signature that verifies it`
        : `copied back to sink ${sink.name} from sink ${good.sink.name} (its signature was missing or damaged)`,
    );
  }
  return holders;
}

/** Rebuilds the backup's lost file index; commits a new manifest (signed again) when the index could not be made byte for byte. */
async function rebuild(runtime: Runtime, manifest: Manifest, holders: Sink[], did: (message: string) => void): Promise<void> {
  const { repository, pipeline } = runtime;
  const format = pipeline.hooks.format.get(manifest.serializer.format)?.call();
  if (!format) throw formatMissing(manifest.serializer.format, { backup: manifest.id, plugin: manifest.serializer.plugin });
  let parentIndex: IndexView | undefined;
  if (manifest.parent) {
    const parent = (await repository.catalog.entries()).find((candidate) => candidate.manifest.id === manifest.parent)?.manifest;
    if (!parent) throw parentMissing(manifest.id, manifest.parent, 'which is not in the repository');
    parentIndex = await repository.indexes.open(parent).catch((error: Error) => {
      throw indexNotRebuilt(manifest.id, `its file index is rebuilt over its parent's, which cannot be read: ${error.message}`);
    });
  }
  const rebuilt = await rebuildIndex(runtime, manifest, format, parentIndex, holders);
  if (rebuilt.outcome === 'same') {
    did(`rebuilt from the backup stream, the same bytes as recorded; ${rebuilt.stored} objects stored again`);
    return;
  }
  const abandon = async (message: string): Promise<never> => {
    await Promise.allSettled(holders.flatMap((sink) => rebuilt.objects.map((key) => sink.delete(key))));
    throw indexNotRebuilt(manifest.id, message);
  };
  // Other backups' index runs lying over this one read its merged content: a rebuild that tells less would change theirs.
  if (rebuilt.lacks) {
    for (const id of await repository.graph.descendants([manifest.id])) {
      const descendant = (await repository.catalog.entries()).find((candidate) => candidate.manifest.id === id)?.manifest;
      const header = descendant && (await repository.indexes.header(descendant).catch(() => undefined));
      if (header?.over === manifest.id)
        await abandon(
          `the index its stream gives lacks ${rebuilt.lacks}, and the index of backup ${id} lies over it (it would lose them too)`,
        );
    }
  }
  let signature: Buffer | undefined;
  let next = rebuilt.manifest;
  if (manifest.signer) {
    const signer = await pipeline.hooks.signer.promise();
    if (!signer)
      await abandon(
        'the rebuilt index changes the manifest (new objects), and the manifest is signed: signing it again needs the signing key, which this config does not give ([signing])',
      );
    next = { ...next, signer: { fingerprint: signer!.fingerprint, publicKey: signer!.publicKey } };
    signature = await signer!.sign(manifestBytes(next));
  }
  const data = manifestBytes(next);
  for (const sink of holders) await replaceManifest(sink, manifest.id, data, signature);
  repository.catalog.invalidate();
  // The old index is replaced: its objects (those still there) go.
  const old = [manifest.index.key, ...(await oldBlocks(runtime, manifest))];
  await Promise.allSettled(holders.flatMap((sink) => old.map((objectKey) => sink.delete(objectKey))));
  did(
    `rebuilt from the backup stream as ${next.index.key}; the manifest now points at it${signature ? ' and was signed again' : ''}${rebuilt.lacks ? ` (the stream does not hold ${rebuilt.lacks}: the rebuilt index lacks them)` : ''}`,
  );
}

/** The keys of the blocks the old header listed, when some sink still holds it. */
async function oldBlocks(runtime: Runtime, manifest: Manifest): Promise<string[]> {
  const blocks = await runtime.repository.indexes.blocks(manifest).catch(() => []);
  return blocks.map((block) => block.key);
}

/** What is wrong with `sink`'s copy of `record`, or undefined when it is good. */
async function inspect(sink: Sink, record: PartRecord): Promise<[Problem, string] | undefined> {
  let data: Buffer;
  try {
    data = await sink.get(record.key);
  } catch (error) {
    if (error instanceof RastError && error.code === ErrorCode.PART_MISSING) return ['missing', 'missing'];
    if (error instanceof RastError && error.code === ErrorCode.SINK_FAILED) throw error;
    return ['unreadable', `unreadable: ${(error as Error).message}`];
  }
  const mismatch = await checkStored(data, record);
  return mismatch ? [mismatch.kind, mismatch.message] : undefined;
}
