import { createHash, webcrypto } from 'node:crypto';
import pLimit from 'p-limit';
import { ErrorCode, RastError } from './errors.js';
import { decodeFileIndex, type FileIndex } from './FileIndex.js';
import { decodePart } from './PartDecoder.js';
import { ManifestCache, type CachedManifest } from './ManifestCache.js';
import { parseManifest, type Manifest, type PartRecord } from './Manifest.js';
import { StreamRangeReader } from './StreamRangeReader.js';
import type { Logger, Sink, TransformDecoder } from './types.js';

/** One backup as the catalog sees it: its manifest and the sinks holding a committed copy. */
export interface CatalogEntry {
  manifest: Manifest;
  sinks: string[];
}

/** A manifest that a sink holds and that does not parse: its backup is in no catalog, but it is there. */
export interface DamagedManifest {
  id: string;
  sink: string;
  key: string;
  problem: string;
}

/** `backups/<id>.json`, or with `.…` after it (a temporary of a manifest whose write was cut short). */
const MANIFEST_ROOT = 'backups/';
const MANIFEST_KEY = new RegExp(`^${MANIFEST_ROOT}([^/]+)\\.json(\\..+)?$`);
const DATA_ROOT = 'data/';
/** Manifests read from one sink at once when the catalog is built. */
const MANIFEST_READS = 16;

/** Object keys inside every sink, and which backup a key belongs to. See docs/repository-format.md. */
export const RepositoryKeys = Object.freeze({
  manifestPrefix: MANIFEST_ROOT,
  manifest: (id: string) => `${MANIFEST_ROOT}${id}.json`,
  /** Temporaries of `id`'s manifest start with this. */
  manifestTemporaryPrefix: (id: string) => `${MANIFEST_ROOT}${id}.json.`,
  dataRoot: DATA_ROOT,
  dataPrefix: (id: string) => `${DATA_ROOT}${id}/`,
  part: (id: string, seq: number) => `${DATA_ROOT}${id}/${String(seq).padStart(6, '0')}.part`,
  index: (id: string) => `${DATA_ROOT}${id}/index`,
  /** The backup id of a manifest key; undefined for any other key (a temporary included). */
  manifestOwner(key: string): string | undefined {
    const match = MANIFEST_KEY.exec(key);
    return match && match[2] === undefined ? match[1] : undefined;
  },
  /** The backup id a key of data, or of a manifest's temporary, belongs to; undefined for a manifest and any other key. */
  leftoverOwner(key: string): string | undefined {
    if (key.startsWith(DATA_ROOT)) return key.split('/')[1];
    const match = MANIFEST_KEY.exec(key);
    return match && match[2] !== undefined ? match[1] : undefined;
  },
});

/** SHA-256 in hex, computed on libuv's thread pool (WebCrypto), so the main thread keeps streaming. */
export async function sha256(data: Buffer): Promise<string> {
  return Buffer.from(await webcrypto.subtle.digest('SHA-256', data)).toString('hex');
}

/**
 * The repository format over every configured sink: manifests are the commit points, the catalog merges
 * what every sink holds, and parts are read from whichever sink has a good copy.
 */
export class Repository {
  private cached?: CatalogEntry[];
  /** Sinks the last catalog had to leave out, and why. */
  private unreadable: Array<{ sink: Sink; error: Error }> = [];
  /** Manifests the last catalog could not parse, in the sinks' order. */
  private damaged: DamagedManifest[] = [];

  constructor(
    readonly sinks: Sink[],
    private readonly decoderFor: (name: string) => TransformDecoder | undefined,
    private readonly log: Logger,
    /** Parts fetched and decoded ahead of the one being read (`[backup] concurrency`). */
    private readonly readAhead = 2,
    /** This host's copies of manifests already read (see ManifestCache); none by default. */
    private readonly manifestCache = new ManifestCache(undefined),
  ) {}

  /**
   * Names this repository to plugins that keep state per repository (the btrfs source keeps the parent
   * snapshot of each repository's next incremental): 16 hex digits of the SHA-256 of its sinks' locations.
   */
  get id(): string {
    const locations = this.sinks.map((sink) => sink.location).sort();
    return createHash('sha256').update(locations.join('\n')).digest('hex').slice(0, 16);
  }

  /**
   * Every committed backup, oldest first. Damaged manifests are reported and left out. A sink that cannot
   * be read is reported and left out while another sink can be read (so a local copy stays usable while a
   * remote store is down); when no sink can be read, this throws.
   */
  async catalog(): Promise<CatalogEntry[]> {
    if (this.cached) return this.cached;
    const byId = new Map<string, CatalogEntry>();
    const unreadable: Array<{ sink: Sink; error: Error }> = [];
    const damaged: DamagedManifest[] = [];
    for (const sink of this.sinks) {
      let found: Manifest[];
      let damagedHere: DamagedManifest[];
      try {
        ({ found, damaged: damagedHere } = await this.readManifests(sink));
      } catch (error) {
        unreadable.push({ sink, error: error as Error });
        continue;
      }
      damaged.push(...damagedHere);
      for (const manifest of found) {
        const entry = byId.get(manifest.id);
        if (entry) entry.sinks.push(sink.name);
        else byId.set(manifest.id, { manifest, sinks: [sink.name] });
      }
    }
    if (unreadable.length > 0 && unreadable.length === this.sinks.length) {
      if (unreadable.length === 1) throw unreadable[0]!.error;
      throw new RastError(ErrorCode.SINK_FAILED, `no sink can be read: ${unreadable.map(({ sink, error }) => `${sink.name}: ${error.message}`).join('; ')}`, { sinks: unreadable.map(({ sink }) => sink.name) });
    }
    for (const { sink, error } of unreadable) {
      this.log.warn(`sink ${sink.name} could not be read, so its backups are left out: ${error.message}`);
    }
    this.unreadable = unreadable;
    this.damaged = damaged;
    const order = (entry: CatalogEntry) => `${entry.manifest.created}\0${entry.manifest.id}`;
    this.cached = [...byId.values()].sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
    return this.cached;
  }

  /**
   * The good manifests one sink holds: the listing, then each manifest from this host's cache or, when new
   * since the last run, from the sink (several at once). Damaged copies are reported and returned apart.
   */
  private async readManifests(sink: Sink): Promise<{ found: Manifest[]; damaged: DamagedManifest[] }> {
    const listed: Array<{ id: string; key: string; size: number }> = [];
    for await (const object of sink.list(RepositoryKeys.manifestPrefix)) {
      const id = RepositoryKeys.manifestOwner(object.key);
      if (id !== undefined) listed.push({ id, key: object.key, size: object.size });
    }
    const cached = await this.manifestCache.load(sink);
    const kept = new Map<string, CachedManifest>();
    let changed = cached.size !== listed.length;
    const damaged: DamagedManifest[] = [];
    const limit = pLimit(MANIFEST_READS);
    const read = async ({ id, key, size }: (typeof listed)[number]): Promise<Manifest | undefined> => {
      let text = cached.get(id)?.size === size ? cached.get(id)!.text : undefined;
      if (text === undefined) {
        changed = true;
        try {
          text = (await sink.get(key)).toString('utf8');
        } catch (error) {
          // Deleted between the listing and the read (a delete or prune running beside this one): not there.
          if (error instanceof RastError && error.code === ErrorCode.PART_MISSING) return undefined;
          throw error;
        }
      }
      const { manifest, problem } = parseManifest(text, id);
      if (!manifest) {
        this.log.warn(`manifest of backup ${id} in sink ${sink.name} (${sink.location}) is damaged: ${problem}; ignoring that copy`);
        damaged.push({ id, sink: sink.name, key, problem: problem ?? 'unreadable' });
        return undefined;
      }
      kept.set(id, { size, text });
      return manifest;
    };
    const found = (await Promise.all(listed.map((object) => limit(() => read(object))))).filter((manifest) => manifest !== undefined);
    if (changed || kept.size !== cached.size) await this.manifestCache.save(sink, kept);
    damaged.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { found, damaged };
  }

  /**
   * Backups whose manifest is damaged in every sink that holds one: listed by no catalog, restorable by
   * nothing, but there (`list` shows them, `verify --all` names them, `delete <id>` removes them).
   */
  async damagedManifests(): Promise<DamagedManifest[]> {
    const committed = new Set((await this.catalog()).map((entry) => entry.manifest.id));
    return this.damaged.filter((damaged) => !committed.has(damaged.id));
  }

  /**
   * Data of backups that were never committed (an interrupted create or delete), per sink: garbage to collect.
   * A manifest's temporary (`backups/<id>.json.…`, which a sink lists once its writer is gone) counts too.
   */
  async leftovers(): Promise<Array<{ id: string; sink: string; objects: number; size: number }>> {
    const committed = new Set((await this.catalog()).map((entry) => entry.manifest.id));
    const unreadable = new Set(this.unreadable.map(({ sink }) => sink));
    const found = new Map<string, { id: string; sink: string; objects: number; size: number }>();
    for (const sink of this.sinks) {
      if (unreadable.has(sink)) continue;
      const objects = async function* () {
        yield* sink.list(RepositoryKeys.dataRoot);
        yield* sink.list(RepositoryKeys.manifestPrefix);
      };
      for await (const object of objects()) {
        const id = RepositoryKeys.leftoverOwner(object.key);
        if (id === undefined || committed.has(id)) continue;
        const key = `${sink.name}\0${id}`;
        const entry = found.get(key) ?? { id, sink: sink.name, objects: 0, size: 0 };
        entry.objects++;
        entry.size += object.size;
        found.set(key, entry);
      }
    }
    return [...found.values()];
  }

  /** The keys of a leftover in one sink: its data, and temporaries of a manifest whose write was cut short. */
  async leftoverKeys(sink: Sink, id: string): Promise<string[]> {
    const keys: string[] = [];
    for await (const object of sink.list(RepositoryKeys.dataPrefix(id))) keys.push(object.key);
    for await (const object of sink.list(RepositoryKeys.manifestTemporaryPrefix(id))) keys.push(object.key);
    return keys;
  }

  invalidate(): void {
    this.cached = undefined;
    this.unreadable = [];
    this.damaged = [];
  }

  /** Resolves a full id, a unique prefix, or `latest`. An empty or blank reference is a usage error, never a prefix of every id. */
  async resolve(reference: string): Promise<CatalogEntry> {
    if (reference.trim() === '') throw new RastError(ErrorCode.USAGE, `backup id ${JSON.stringify(reference)} is empty: give a backup id, a unique prefix of one, or latest`, { reference });
    const entries = await this.catalog();
    if (reference === 'latest') {
      const latest = entries.at(-1);
      if (!latest) throw new RastError(ErrorCode.BACKUP_NOT_FOUND, `no backups yet in ${this.describeSinks()}`, { reference });
      return latest;
    }
    const exact = entries.find((entry) => entry.manifest.id === reference);
    if (exact) return exact;
    const matches = entries.filter((entry) => entry.manifest.id.startsWith(reference));
    if (matches.length === 1) return matches[0]!;
    if (matches.length === 0) throw new RastError(ErrorCode.BACKUP_NOT_FOUND, `no backup ${reference} in ${this.describeSinks()} (see rast-backup list)`, { reference });
    const shown = matches.slice(0, 5).map((entry) => entry.manifest.id).join(', ');
    throw new RastError(ErrorCode.BACKUP_AMBIGUOUS, `backup id ${reference} is ambiguous: it matches ${matches.length} backups (${shown}${matches.length > 5 ? ', …' : ''}); give more of the id`, { reference });
  }

  /** The backups a restore of `entry` needs, from the full backup to `entry`, oldest first. */
  async chain(entry: CatalogEntry): Promise<Manifest[]> {
    const entries = new Map((await this.catalog()).map((candidate) => [candidate.manifest.id, candidate.manifest]));
    const chain: Manifest[] = [entry.manifest];
    const seen = new Set([entry.manifest.id]);
    for (let parent = entry.manifest.parent; parent !== null; ) {
      if (seen.has(parent)) throw new RastError(ErrorCode.PARENT_INVALID, `backup ${entry.manifest.id}: its chain of parents loops at ${parent}`, { backup: entry.manifest.id });
      const manifest = entries.get(parent);
      if (!manifest) {
        const damaged = this.damaged.filter((candidate) => candidate.id === parent);
        const where = damaged.length > 0 ? `whose manifest is damaged in ${damaged.map((candidate) => `sink ${candidate.sink} (${candidate.problem})`).join(', ')}` : `which is in no sink (${this.describeSinks()})`;
        throw new RastError(ErrorCode.PARENT_INVALID, `backup ${entry.manifest.id} needs its parent ${parent}, ${where}`, { backup: entry.manifest.id, parent });
      }
      seen.add(parent);
      chain.unshift(manifest);
      parent = manifest.parent;
    }
    return chain;
  }

  /** Backups whose parent is `id`. Throws when a sink could not be read: a backup there might depend on `id`. */
  async dependents(id: string): Promise<Manifest[]> {
    const entries = await this.catalog();
    if (this.unreadable.length > 0) {
      const { sink, error } = this.unreadable[0]!;
      throw new RastError(ErrorCode.SINK_FAILED, `cannot tell which backups depend on ${id}: sink ${sink.name} could not be read (${error.message}); try again when every sink is reachable`, { backup: id, sink: sink.name });
    }
    return entries.map((entry) => entry.manifest).filter((manifest) => manifest.parent === id);
  }

  describeSinks(): string {
    return this.sinks.map((sink) => `${sink.name} (${sink.location})`).join(', ');
  }

  /** Reads one stored object of a backup from the first sink with a good copy; throws naming every failure. */
  async readStored(manifest: Manifest, part: PartRecord, label: string): Promise<Buffer> {
    const problems: string[] = [];
    let missing = 0;
    for (const sink of this.sinks) {
      let data: Buffer;
      try {
        data = await sink.get(part.key);
      } catch (error) {
        if (error instanceof RastError && error.code === ErrorCode.PART_MISSING) missing++;
        problems.push(`${sink.name}: ${(error as Error).message}`);
        continue;
      }
      const mismatch = await checkStored(data, part);
      if (!mismatch) return data;
      problems.push(`${sink.name}: ${mismatch.message}`);
      this.log.warn(`backup ${manifest.id}, ${label}: damaged in sink ${sink.name} (${mismatch.message}); trying the next sink`);
    }
    const damaged = missing < problems.length;
    throw new RastError(
      damaged ? ErrorCode.PART_DAMAGED : ErrorCode.PART_MISSING,
      `backup ${manifest.id}, ${label} (${part.key}): no good copy in any sink: ${problems.join('; ')}`,
      { backup: manifest.id, part: part.key },
    );
  }

  /**
   * Throws what decoding the backup would throw for a reason of this host, not of the data (no plugin for a
   * transform, a key it lacks), without reading anything.
   */
  async checkDecodable(manifest: Manifest): Promise<void> {
    for (const transform of manifest.transforms) {
      const decoder = this.decoderFor(transform.name);
      if (!decoder) throw this.noDecoder(manifest, transform);
      await decoder.ready?.(transform.params);
    }
  }

  private noDecoder(manifest: Manifest, transform: Manifest['transforms'][number]): RastError {
    return new RastError(ErrorCode.TRANSFORM_FAILED, `backup ${manifest.id} was made with transform ${transform.name} (${transform.plugin}), and no loaded plugin decodes it`, { backup: manifest.id });
  }

  /** Undoes the manifest's transforms, last applied first. */
  async untransform(manifest: Manifest, data: Buffer, label: string): Promise<Buffer> {
    for (const transform of [...manifest.transforms].reverse()) {
      const decoder = this.decoderFor(transform.name);
      if (!decoder) throw this.noDecoder(manifest, transform);
      try {
        data = await decodePart(decoder.worker, data, transform.params);
      } catch (error) {
        if (error instanceof RastError) throw error;
        throw new RastError(ErrorCode.PART_DAMAGED, `backup ${manifest.id}, ${label}: ${transform.name} could not decode it: ${(error as Error).message}`, { backup: manifest.id }, { cause: error });
      }
    }
    return data;
  }

  async readPlain(manifest: Manifest, part: PartRecord, label: string): Promise<Buffer> {
    const plain = await this.untransform(manifest, await this.readStored(manifest, part, label), label);
    if (plain.length !== part.size) {
      throw new RastError(ErrorCode.PART_DAMAGED, `backup ${manifest.id}, ${label}: decodes to ${plain.length} bytes, the manifest says ${part.size}`, { backup: manifest.id, part: part.key });
    }
    return plain;
  }

  async readIndex(manifest: Manifest): Promise<FileIndex> {
    const data = await this.readPlain(manifest, manifest.index, 'file index');
    try {
      return decodeFileIndex(data);
    } catch (error) {
      throw new RastError(ErrorCode.PART_DAMAGED, `backup ${manifest.id}, file index: ${(error as Error).message}`, { backup: manifest.id });
    }
  }

  /** Reads spans of the backup's plaintext stream, fetching only the parts that hold them. */
  rangeReader(manifest: Manifest): StreamRangeReader {
    return new StreamRangeReader(this, manifest, this.readAhead);
  }

  /** The backup's plaintext stream, part by part, each checked; up to `readAhead` parts are fetched and decoded ahead. */
  async *openStream(manifest: Manifest): AsyncIterable<Buffer> {
    const fetch = (seq: number) => {
      const reading = this.readPlain(manifest, manifest.parts[seq]!, `part ${seq + 1} of ${manifest.parts.length}`);
      reading.catch(() => {});
      return reading;
    };
    const ahead: Array<Promise<Buffer>> = [];
    let requested = 0;
    while (requested < manifest.parts.length || ahead.length > 0) {
      while (requested < manifest.parts.length && ahead.length < this.readAhead) ahead.push(fetch(requested++));
      yield await ahead.shift()!;
    }
  }
}

/** How a stored object does not match its record, or undefined when it does. */
export async function checkStored(data: Buffer, part: PartRecord): Promise<{ kind: 'size' | 'checksum'; message: string } | undefined> {
  if (data.length !== part.storedSize) return { kind: 'size', message: `size ${data.length}, expected ${part.storedSize}` };
  const digest = await sha256(data);
  if (digest !== part.sha256) return { kind: 'checksum', message: `SHA-256 ${digest.slice(0, 12)}…, expected ${part.sha256.slice(0, 12)}…` };
  return undefined;
}
