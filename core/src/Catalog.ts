import pLimit from 'p-limit';
import { ErrorCode, RastError } from './errors.js';
import { authenticate, checkSignature, unauthenticated, type Authentication, type SignatureCheck } from './ManifestAuthentication.js';
import { createHash } from 'node:crypto';
import { ManifestCache, type CachedManifest, type PackPlace } from './ManifestCache.js';
import { parseManifest, type Manifest } from './Manifest.js';
import { headOf, type ManifestHead } from './ManifestHead.js';
import { RepositoryKeys } from './RepositoryKeys.js';
import type { Logger, ManifestVerifier, Sink } from './types.js';
import {
  backupAmbiguous,
  backupNotFound,
  emptyArgument,
  manifestCopyUnreadable,
  noBackupsYet,
  noSinkReadable,
} from './diagnostics/index.js';

/**
 * One backup as the catalog sees it: the head of its manifest, the sinks holding a committed copy, and whether it
 * is authenticated. The whole manifest (its part list) is read from this host's copy when first asked for.
 */
export interface CatalogEntry {
  head: ManifestHead;
  /** The number of parts. */
  parts: number;
  /** The whole manifest, as read and checked with its signature (kept once read). */
  readonly manifest: Manifest;
  sinks: string[];
  authentication: Authentication;
}

/** A manifest one sink holds, with its signature check. */
interface Found {
  head: ManifestHead;
  parts: number;
  signature?: SignatureCheck;
  /** The whole manifest, or where this host keeps it (read when asked for). */
  whole: Manifest | Kept;
}

/** This host's copy of a whole manifest: the sink it was read from, where it is, and the SHA-256 of its bytes. */
interface Kept {
  sink: Sink;
  sha256: string;
  place: PackPlace;
}

/** A CatalogEntry whose whole manifest is read from this host's copy when first asked for. */
class Entry implements CatalogEntry {
  constructor(
    readonly head: ManifestHead,
    readonly parts: number,
    readonly sinks: string[],
    readonly authentication: Authentication,
    private whole: Manifest | Kept,
    private readonly cache: ManifestCache,
  ) {}

  get manifest(): Manifest {
    if ('id' in this.whole) return this.whole;
    const { sink } = this.whole;
    try {
      return (this.whole = this.cache.readManifest(sink, this.head.id, this.whole));
    } catch (error) {
      throw manifestCopyUnreadable(this.head.id, sink.name, (error as Error).message);
    }
  }
}

/** A manifest that a sink holds and that does not parse: its backup is in no catalog, but it is there. */
export interface DamagedManifest {
  id: string;
  sink: string;
  key: string;
  problem: string;
}

/** Data of a backup that was never committed, in one sink. */
export interface Leftover {
  id: string;
  sink: string;
  objects: number;
  size: number;
}

/** Manifests read from one sink at once when the catalog is built. */
const MANIFEST_READS = 16;

/** The keys of the manifests (and their signatures) summarized in `cached`, as the sink listed them. */
function heldKeys(cached: Map<string, CachedManifest>): string[] {
  const keys: string[] = [];
  for (const [id, copy] of cached) {
    keys.push(RepositoryKeys.manifest(id));
    // `signatures` is "<suffix> <size> <version>;" per signature object (see readManifests).
    for (const signature of copy.signatures.split(';')) {
      if (signature) keys.push(`${RepositoryKeys.manifest(id)}.${signature.slice(0, signature.indexOf(' '))}`);
    }
  }
  return keys;
}

const ASCII = /^[\x00-\x7f]*$/;

/** `keys` in a sink's order (UTF-8 bytes). */
function sinkOrder(keys: string[]): string[] {
  // ASCII sorts the same as UTF-16 code units, without a Buffer per key.
  if (keys.every((key) => ASCII.test(key))) return keys.sort();
  return keys
    .map((key) => Buffer.from(key))
    .sort(Buffer.compare)
    .map((key) => key.toString());
}

/** Oldest first; backups made at the same time by id. */
function byCreated(a: CatalogEntry, b: CatalogEntry): number {
  const first = a.head;
  const second = b.head;
  if (first.created !== second.created) return first.created < second.created ? -1 : 1;
  return first.id < second.id ? -1 : first.id > second.id ? 1 : 0;
}

/**
 * What the sinks hold: the committed backups (their manifests merged over every sink), the manifests that
 * are damaged, and the data of backups never committed. Built once and kept until `invalidate()`.
 */
export class Catalog {
  private cached?: CatalogEntry[];
  /** The cached entries by id, and their manifests, made on first use. */
  private indexed?: { byId: Map<string, CatalogEntry>; heads: ManifestHead[] };
  /** Sinks the last catalog had to leave out, and why. */
  private unreadableSinks: Array<{ sink: Sink; error: Error }> = [];
  /** Manifests the last catalog could not parse, in the sinks' order. */
  private damaged: DamagedManifest[] = [];
  /** Per backup, the sinks listing a `.sig.next` beside its manifest: a re-sign cut short (repair finishes it). */
  private resigning = new Map<string, string[]>();
  /** Unsigned backups already warned about by this process. */
  private readonly warned = new Set<string>();

  constructor(
    readonly sinks: Sink[],
    private readonly log: Logger,
    /** This host's copies of manifests already read (see ManifestCache); none by default. */
    private readonly manifestCache = new ManifestCache(undefined),
    /** The signature checker when signing is on (the `verifier` hook); none by default. */
    private readonly verifier: () => Promise<ManifestVerifier | undefined> = async () => undefined,
  ) {}

  /**
   * Every committed backup, oldest first. Damaged manifests are reported and left out. A sink that cannot
   * be read is reported and left out while another sink can be read (so a local copy stays usable while a
   * remote store is down); when no sink can be read, this throws.
   */
  async entries(): Promise<CatalogEntry[]> {
    if (this.cached) return this.cached;
    const byId = new Map<string, Found & { sinks: string[] }>();
    const unreadable: Array<{ sink: Sink; error: Error }> = [];
    const damaged: DamagedManifest[] = [];
    const verifier = await this.verifier();
    const resigning = new Map<string, string[]>();
    for (const sink of this.sinks) {
      let found: Found[];
      let damagedHere: DamagedManifest[];
      let pendingHere: string[];
      try {
        ({ found, damaged: damagedHere, pending: pendingHere } = await this.readManifests(sink, verifier));
      } catch (error) {
        unreadable.push({ sink, error: error as Error });
        continue;
      }
      damaged.push(...damagedHere);
      for (const id of pendingHere) resigning.set(id, [...(resigning.get(id) ?? []), sink.name]);
      for (const copy of found) {
        const entry = byId.get(copy.head.id);
        if (!entry) byId.set(copy.head.id, { ...copy, sinks: [sink.name] });
        else {
          entry.sinks.push(sink.name);
          // A sink whose copy is signed wins over one whose copy is not (or is badly signed).
          if (entry.signature && !('signer' in entry.signature) && copy.signature && 'signer' in copy.signature) Object.assign(entry, copy);
        }
      }
    }
    if (unreadable.length > 0 && unreadable.length === this.sinks.length) {
      if (unreadable.length === 1) throw unreadable[0]!.error;
      throw noSinkReadable(unreadable);
    }
    for (const { sink, error } of unreadable) {
      this.log.warn(`sink ${sink.name} could not be read, so its backups are left out: ${error.message}`);
    }
    this.unreadableSinks = unreadable;
    this.damaged = damaged;
    this.resigning = resigning;
    const copies = [...byId.values()];
    const authentications = authenticate(
      verifier,
      copies.map(({ head, signature }) => ({ manifest: head, signature })),
    );
    const entries = copies.map(
      ({ head, parts, sinks, whole }, index): CatalogEntry =>
        new Entry(head, parts, sinks, authentications[index]!, whole, this.manifestCache),
    );
    this.indexed = undefined;
    this.cached = entries.sort(byCreated);
    return this.cached;
  }

  /**
   * The good manifests one sink holds: the listing, then each manifest from this host's cache or, when new
   * since the last run, from the sink (several at once). Damaged copies are reported and returned apart.
   */
  private async readManifests(
    sink: Sink,
    verifier: ManifestVerifier | undefined,
  ): Promise<{ found: Found[]; damaged: DamagedManifest[]; pending: string[] }> {
    // Read before the listing: a summary this run holds and the listing lacks is of a backup deleted since.
    const run = await this.manifestCache.open(sink);
    const cached = run.cached;
    const listed: Array<{ id: string; key: string; size: number; version?: string }> = [];
    const signatures = new Map<string, string>();
    const pending: string[] = [];
    // With the manifests already held, a remote listing can ask for its pages at once, not one after another.
    const listing =
      sink.listSplit && cached.size > 0
        ? sink.listSplit(RepositoryKeys.manifestPrefix, sinkOrder(heldKeys(cached)))
        : sink.list(RepositoryKeys.manifestPrefix);
    for await (const object of listing) {
      const id = RepositoryKeys.manifestOwner(object.key);
      if (id !== undefined) listed.push({ id, key: object.key, size: object.size, version: object.version });
      else if (object.key.endsWith('.sig') || object.key.endsWith('.sig.next')) {
        const owner = object.key.slice(RepositoryKeys.manifestPrefix.length, object.key.lastIndexOf('.json.'));
        if (object.key.endsWith('.sig.next')) pending.push(owner);
        signatures.set(
          owner,
          `${signatures.get(owner) ?? ''}${object.key.slice(object.key.lastIndexOf('.json.') + 6)} ${object.size} ${object.version ?? ''};`,
        );
      }
    }
    const kept = new Map<string, CachedManifest>();
    let changed = false;
    const damaged: DamagedManifest[] = [];
    const limit = pLimit(MANIFEST_READS);
    const unchanged = ({ id, size, version }: (typeof listed)[number]): Found | undefined => {
      const copy = cached.get(id);
      // A copy whose signature was refused is checked again (its signature may have been put right since).
      if (
        copy?.size === size &&
        copy.version === version &&
        copy.signatures === (signatures.get(id) ?? '') &&
        (!verifier || (copy.signature && !('problem' in copy.signature)))
      ) {
        kept.set(id, copy);
        return { head: copy.head, parts: copy.parts, signature: copy.signature, whole: { sink, sha256: copy.sha256, place: copy.place } };
      }
      return undefined;
    };
    const read = async ({ id, key, size, version }: (typeof listed)[number]): Promise<Found | undefined> => {
      changed = true;
      let data: Buffer;
      try {
        data = await sink.get(key);
      } catch (error) {
        // Deleted between the listing and the read (a delete or prune running beside this one): not there.
        if (error instanceof RastError && error.code === ErrorCode.PART_MISSING) return undefined;
        throw error;
      }
      const { manifest, problem } = parseManifest(data, id);
      if (!manifest) {
        this.log.warn(`manifest of backup ${id} in sink ${sink.name} (${sink.location}) is damaged: ${problem}; ignoring that copy`);
        damaged.push({ id, sink: sink.name, key, problem: problem ?? 'unreadable' });
        return undefined;
      }
      const signature = verifier ? await checkSignature(verifier, sink, manifest, data) : undefined;
      const head = headOf(manifest);
      // Kept in the summaries only once this host holds the whole manifest too.
      const place = await run.keep(data);
      if (place) {
        const sha256 = createHash('sha256').update(data).digest('hex');
        kept.set(id, { size, version, signatures: signatures.get(id) ?? '', sha256, signature, head, parts: manifest.parts.length, place });
        return { head, parts: manifest.parts.length, signature, whole: { sink, sha256, place } };
      }
      return { head, parts: manifest.parts.length, signature, whole: manifest };
    };
    // The listing's order is kept; only the manifests new since the last run wait for a read.
    const copies = listed.map((object) => unchanged(object) ?? limit(() => read(object)));
    // Promise.all only when something is read: not a promise per backup held.
    const found = (
      copies.some((copy) => copy instanceof Promise) ? await Promise.all(copies) : (copies as Array<Found | undefined>)
    ).filter((copy) => copy !== undefined);
    if (changed || kept.size !== cached.size) await run.save(kept, new Set(listed.map(({ id }) => id)));
    damaged.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { found, damaged, pending };
  }

  /** The sinks holding a `.sig.next` beside backup `id`'s manifest: a re-sign cut short, which `repair` finishes. */
  async unfinishedResign(id: string): Promise<string[]> {
    await this.entries();
    return this.resigning.get(id) ?? [];
  }

  /** Sinks the catalog had to leave out, and why: a backup there is unknown (empty while every sink can be read). */
  async unreadable(): Promise<ReadonlyArray<{ sink: Sink; error: Error }>> {
    await this.entries();
    return this.unreadableSinks;
  }

  /** Names of the sinks the catalog could read: a backup one of them lacks is behind there (`sync` copies it). */
  async readable(): Promise<string[]> {
    const unreadable = await this.unreadable();
    return this.sinks.filter((sink) => !unreadable.some((failed) => failed.sink === sink)).map((sink) => sink.name);
  }

  /**
   * Backups whose manifest is damaged in every sink that holds one: listed by no catalog, restorable by
   * nothing, but there (`list` shows them, `verify --all` names them, `delete <id>` removes them).
   */
  async damagedManifests(): Promise<DamagedManifest[]> {
    const committed = (await this.index()).byId;
    return this.damaged.filter((damaged) => !committed.has(damaged.id));
  }

  /**
   * Data of backups that were never committed (an interrupted create or delete), per sink: garbage to collect.
   * A manifest's temporary (`backups/<id>.json.…`, which a sink lists once its writer is gone) counts too.
   */
  async leftovers(): Promise<Leftover[]> {
    const committed = (await this.index()).byId;
    const unreadable = new Set(this.unreadableSinks.map(({ sink }) => sink));
    const found = new Map<string, Leftover>();
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

  /** The committed backups by id, and their manifest heads oldest first (the same objects until `invalidate()`). */
  private async index(): Promise<{ byId: Map<string, CatalogEntry>; heads: ManifestHead[] }> {
    const entries = await this.entries();
    return (this.indexed ??= { byId: new Map(entries.map((entry) => [entry.head.id, entry])), heads: entries.map((entry) => entry.head) });
  }

  /** Every committed backup's manifest head, oldest first (the same objects until `invalidate()`). */
  async heads(): Promise<ManifestHead[]> {
    return (await this.index()).heads;
  }

  /** The committed backup `id`, or undefined. */
  async entry(id: string): Promise<CatalogEntry | undefined> {
    return (await this.index()).byId.get(id);
  }

  /** Forgets what was read: the next call reads the sinks again (after this process changed them). */
  invalidate(): void {
    this.cached = undefined;
    this.indexed = undefined;
    this.unreadableSinks = [];
    this.damaged = [];
    this.resigning = new Map();
  }

  /**
   * Throws BACKUP_UNAUTHENTICATED naming the backup when the catalog refused one of `manifests` (a bad or
   * untrusted signature, or unsigned where it may not be); warns once, in one line, of those that are unsigned
   * backups from before signing.
   */
  async checkAuthenticated(manifests: ManifestHead[], options: { warn?: boolean } = {}): Promise<void> {
    const entries = (await this.index()).byId;
    const unsigned: string[] = [];
    for (const { id } of manifests) {
      const authentication = entries.get(id)?.authentication;
      if (!authentication) continue;
      const refused = unauthenticated(id, authentication);
      if (refused) throw refused;
      if (authentication.status === 'unsigned' && !this.warned.has(id)) unsigned.push(id);
    }
    if (unsigned.length === 0 || options.warn === false) return;
    for (const id of unsigned) this.warned.add(id);
    const which = unsigned.length === 1 ? `backup ${unsigned[0]} is` : `backups ${unsigned.join(', ')} are`;
    this.log.warn(`${which} unsigned (made before manifests were signed): not authenticated`);
  }

  /**
   * Resolves a full id, a unique prefix, or `latest`, and checks that it is not refused (see
   * checkAuthenticated) unless `unauthenticated` (delete). An empty or blank reference is a usage error, never a
   * prefix of every id.
   */
  async resolve(reference: string, options: { unauthenticated?: boolean } = {}): Promise<CatalogEntry> {
    const entry = await this.find(reference);
    // Refused ones stop here; the warning for unsigned ones comes with the chain (one line for all of them).
    if (!options.unauthenticated) await this.checkAuthenticated([entry.head], { warn: false });
    return entry;
  }

  private async find(reference: string): Promise<CatalogEntry> {
    if (reference.trim() === '')
      throw emptyArgument('backup id', reference, 'give a backup id, a unique prefix of one, or latest', { reference });
    const entries = await this.entries();
    if (reference === 'latest') {
      const latest = entries.at(-1);
      if (!latest) throw noBackupsYet(this.describeSinks(), reference);
      return latest;
    }
    const exact = (await this.index()).byId.get(reference);
    if (exact) return exact;
    const matches = entries.filter((entry) => entry.head.id.startsWith(reference));
    if (matches.length === 1) return matches[0]!;
    if (matches.length === 0) throw backupNotFound(reference, this.describeSinks());
    throw backupAmbiguous(
      reference,
      matches.map((entry) => entry.head.id),
    );
  }

  describeSinks(): string {
    return this.sinks.map((sink) => `${sink.name} (${sink.location})`).join(', ');
  }
}
