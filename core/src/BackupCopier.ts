import { isDeepStrictEqual } from 'node:util';
import pLimit from 'p-limit';
import type { CatalogEntry } from './Catalog.js';
import { ErrorCode, RastError } from './errors.js';
import { getOptional } from './SinkKeys.js';
import { indexBlocksListed } from './IndexBlocksListed.js';
import { stopIfInterrupted } from './Interruption.js';
import { readSignature } from './ManifestAuthentication.js';
import { parseManifest, type Manifest } from './Manifest.js';
import { copyObject, type ObjectRecord } from './ObjectCopy.js';
import type { ProgressCounter } from './Progress.js';
import { RepositoryKeys } from './RepositoryKeys.js';
import type { Runtime } from './Runtime.js';
import type { ManifestVerifier, Sink } from './types.js';
import {
  backupDeletedWhileCopied,
  indexBlocksUnknown,
  manifestOtherInSink,
  noGoodManifest,
  objectVanishedWhileCopied,
} from './diagnostics/index.js';

/** One backup brought into one sink that lacks it (or, with dry-run, what that would take). */
export interface BackupCopy {
  backup: string;
  /** The sink it is copied into. */
  sink: string;
  /** `copied` (committed there), `would-copy` (dry run), `failed` (not committed there: see `problem`). */
  status: 'copied' | 'would-copy' | 'failed';
  /** Objects copied (or to copy), the manifest and its signature included. */
  objects: number;
  /** Their stored bytes. */
  bytes: number;
  /** Objects already there with their recorded size (an interrupted sync's, a create's that failed in that sink): not copied again. */
  present: number;
  /** Sinks the objects were read from. */
  from: string[];
  /** Index blocks whose SHA-256 this host could not know (their header cannot be decoded here): checked by size only. */
  unchecked?: number;
  problem?: string;
}

/** A manifest's stored bytes and its signature (and, unchecked, a `.sig.next` beside it), from the sink they were read from. */
interface Committed {
  data: Buffer;
  signature?: Buffer;
  next?: Buffer;
  from: Sink;
}

/** A backup's stored objects (parts, index header, index blocks), with the records they are checked against. */
interface BackupObjects {
  records: Array<ObjectRecord & { label: string }>;
  /** Blocks checked by size only. */
  unchecked: number;
}

/**
 * Copies committed backups object by object into sinks that lack them, checked against their records as they
 * go (ObjectCopy), the signature and then the manifest last: a sink holds a backup only once all of it is
 * there. Objects already there with their recorded size are not copied again, so an interrupted copy resumes.
 * Objects are copied `concurrency` at a time, streamed where the sinks can (memory: that many chunks; else that many objects, each at most a part).
 */
/** A copy of backup `backup` into `sink` that was not made, and why. */
export const failedCopy = (backup: string, sink: Sink, problem: string): BackupCopy => ({
  backup,
  sink: sink.name,
  status: 'failed',
  objects: 0,
  bytes: 0,
  present: 0,
  from: [],
  problem,
});

export class BackupCopier {
  private readonly limit: ReturnType<typeof pLimit>;

  constructor(
    /** The repository read from. */
    private readonly source: Runtime,
    /** Checks the signature of the manifest copied (the source's `verifier` hook); none when signing is off there. */
    private readonly verifier: ManifestVerifier | undefined,
    private readonly options: {
      dryRun?: boolean;
      signal?: AbortSignal;
      /** Counts the stored bytes of each copy as its objects are copied or found already there; its total holds each copy's storedSize. */
      progress?: ProgressCounter;
    } = {},
  ) {
    this.limit = pLimit(source.settings.concurrency);
  }

  /** Copies `entry`'s backup into each of `targets` (sinks that lack it); one result per target, never throwing for a target's failure. */
  async copy(entry: CatalogEntry, targets: Sink[]): Promise<BackupCopy[]> {
    const { manifest } = entry;
    const sources = this.source.sinks.filter((sink) => entry.sinks.includes(sink.name));
    const failed = (sink: Sink, problem: string) => failedCopy(manifest.id, sink, problem);
    const { authentication } = entry;
    if (authentication.status === 'refused') return targets.map((sink) => failed(sink, `not copied: ${authentication.problem}`));
    let objects: BackupObjects;
    let committed: Committed;
    try {
      objects = await this.objectsOf(manifest, sources);
      committed = await this.manifestOf(entry, sources);
    } catch (error) {
      this.options.progress?.adjustTotal(-manifest.storedSize * targets.length);
      return targets.map((sink) => failed(sink, (error as Error).message));
    }
    return Promise.all(
      targets.map((target) => {
        const counted = { expected: manifest.storedSize, done: 0 };
        return this.copyInto(manifest, objects, committed, sources, target, counted).catch((error: unknown) => {
          this.options.progress?.adjustTotal(counted.done - counted.expected);
          if (error instanceof RastError && error.code === ErrorCode.INTERRUPTED) throw error;
          return failed(target, (error as Error).message);
        });
      }),
    );
  }

  private async copyInto(
    manifest: Manifest,
    objects: BackupObjects,
    committed: Committed,
    sources: Sink[],
    target: Sink,
    /** The bytes this copy counts in the progress total, and those counted done. */
    counted: { expected: number; done: number },
  ): Promise<BackupCopy> {
    const id = manifest.id;
    const stored = await objectsIn(target, RepositoryKeys.dataPrefix(id));
    if ((await objectsIn(target, RepositoryKeys.manifest(id))).has(RepositoryKeys.manifest(id))) throw manifestOtherInSink(id, target.name);
    const missing = objects.records.filter((record) => stored.get(record.key) !== record.storedSize);
    const metadata = committed.data.length + (committed.signature?.length ?? 0) + (committed.next?.length ?? 0);
    const result: BackupCopy = {
      backup: id,
      sink: target.name,
      status: this.options.dryRun ? 'would-copy' : 'copied',
      objects: missing.length + 1 + (committed.signature ? 1 : 0) + (committed.next ? 1 : 0),
      bytes: missing.reduce((sum, record) => sum + record.storedSize, metadata),
      present: objects.records.length - missing.length,
      from: [],
      ...(objects.unchecked > 0 ? { unchecked: objects.unchecked } : {}),
    };
    if (this.options.dryRun) return result;
    const { progress } = this.options;
    const count = (bytes: number) => {
      counted.done += bytes;
      progress?.add(bytes);
    };
    // The records hold what the copy takes (the manifest's storedSize, but for index blocks this host cannot decode).
    const size = objects.records.reduce((sum, record) => sum + record.storedSize, 0);
    progress?.adjustTotal(size - counted.expected);
    counted.expected = size;
    count(size - missing.reduce((sum, record) => sum + record.storedSize, 0));
    const from = new Set<string>([committed.from.name]);
    const copying = missing.map((record) =>
      this.limit(async () => {
        stopIfInterrupted(this.options.signal);
        const copied = await copyObject(record, sources, target, { label: `backup ${id}, ${record.label}` });
        count(record.storedSize);
        for (const { sink, problem } of copied.passed)
          this.source.log.warn(`backup ${id}, ${record.label}: not copied from sink ${sink} (${problem}); copied from ${copied.from}`);
        from.add(copied.from);
      }),
    );
    const settled = await Promise.allSettled(copying);
    const failure = settled.find((outcome) => outcome.status === 'rejected');
    stopIfInterrupted(this.options.signal);
    if (failure) throw (failure as PromiseRejectedResult).reason;
    await target.flush?.();
    // Still all there (a prune elsewhere takes objects without a manifest for an interrupted create's once old enough).
    const now = await objectsIn(target, RepositoryKeys.dataPrefix(id));
    const gone = objects.records.find((record) => now.get(record.key) !== record.storedSize);
    if (gone) throw objectVanishedWhileCopied(id, gone.key, target.name);
    // A delete (on any host) while it was copied: not brought back to life in this sink.
    if (!(await objectsIn(committed.from, RepositoryKeys.manifest(id))).has(RepositoryKeys.manifest(id)))
      throw backupDeletedWhileCopied(id, committed.from.name);
    stopIfInterrupted(this.options.signal);
    if (committed.next) await target.put(RepositoryKeys.nextSignature(id), committed.next, { durable: true });
    if (committed.signature) await target.put(RepositoryKeys.signature(id), committed.signature, { durable: true });
    await target.put(RepositoryKeys.manifest(id), committed.data, { durable: true });
    result.from = [...from];
    return result;
  }

  /**
   * The backup's objects and their records: the parts and the index header (the manifest's), then the index
   * blocks (the header's: read here, or from this host's kept copy of the index). When neither can be read
   * (a host without the key, for a backup another host made), the blocks a source lists are checked by
   * size, and their sizes must add up to what the manifest's storedSize leaves for them.
   */
  private async objectsOf(manifest: Manifest, sources: Sink[]): Promise<BackupObjects> {
    const records: BackupObjects['records'] = [
      ...manifest.parts.map((part, seq) => ({ ...part, label: `part ${seq + 1} of ${manifest.parts.length}` })),
      { ...manifest.index, label: 'file index' },
    ];
    const blocks = await this.source.repository.indexes.blocksOrKept(manifest);
    const label = (n: number, all: number) => `file index block ${n + 1} of ${all}`;
    if (blocks) {
      records.push(...blocks.map((block, n) => ({ ...block, label: label(n, blocks.length) })));
      return { records, unchecked: 0 };
    }
    for (const source of sources) {
      const found = indexBlocksListed(manifest, await objectsIn(source, RepositoryKeys.dataPrefix(manifest.id)));
      if (!('blocks' in found)) continue;
      records.push(...found.blocks.map((block, n) => ({ ...block, label: label(n, found.blocks.length) })));
      return { records, unchecked: found.blocks.length };
    }
    throw indexBlocksUnknown(manifest.id);
  }

  /** The manifest's stored bytes (what its signature covers) and its signature, from a source whose copy is the catalog's. */
  private async manifestOf(entry: CatalogEntry, sources: Sink[]): Promise<Committed> {
    const { manifest } = entry;
    const problems: string[] = [];
    for (const source of sources) {
      try {
        const data = await source.get(RepositoryKeys.manifest(manifest.id));
        const parsed = parseManifest(data, manifest.id).manifest;
        if (!parsed || !isDeepStrictEqual(parsed, manifest)) {
          problems.push(`${source.name}: its copy differs`);
          continue;
        }
        if (this.verifier && entry.authentication.status === 'signed') {
          // The signature that verifies (`.sig.next` where a re-sign was cut short): the target gets the finished state.
          const stored = await readSignature(this.verifier, source, manifest, data);
          if (!stored.signature) {
            problems.push(`${source.name}: ${'problem' in stored.check ? stored.check.problem : 'its signature is missing'}`);
            continue;
          }
          return { data, signature: stored.signature, from: source };
        }
        const signature = await getOptional(source, RepositoryKeys.signature(manifest.id));
        // Unchecked here (signing is off in this config): a re-sign cut short is copied as it is, for a host that checks.
        const next = await getOptional(source, RepositoryKeys.nextSignature(manifest.id));
        if (next) return { data, signature, next, from: source };
        return { data, signature, from: source };
      } catch (error) {
        problems.push(`${source.name}: ${(error as Error).message}`);
      }
    }
    throw noGoodManifest(manifest.id, problems);
  }
}

/** The objects a sink lists under `prefix`, by key, with their sizes. */
async function objectsIn(sink: Sink, prefix: string): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  for await (const object of sink.list(prefix)) found.set(object.key, object.size);
  return found;
}
