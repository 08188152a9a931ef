import { createHash, randomBytes } from 'node:crypto';
import { fstatSync, openSync, readFileSync, readSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { open, readdir, readFile, rename, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { makeDirectories } from './Directories.js';
import type { SignatureCheck } from './ManifestAuthentication.js';
import { parseManifest, type Manifest } from './Manifest.js';
import type { ManifestHead } from './ManifestHead.js';
import type { Sink } from './types.js';

/** Where a manifest's stored bytes are in this host's packs: the pack's file name, their offset and length. */
export interface PackPlace {
  pack: string;
  offset: number;
  length: number;
}

/** What the catalog keeps of one manifest a sink lists, as checked when it was read. */
export interface CachedManifest {
  /** The size and version (an S3 ETag, where the sink has one) it was listed with. */
  size: number;
  version?: string;
  /** How the sink listed its signatures (`.sig`, `.sig.next`) when it was read: a change there reads it again. */
  signatures: string;
  /** SHA-256 of the manifest's stored bytes, hex: this host's copy of the whole manifest is checked against it. */
  sha256: string;
  /** Its signature as checked when read; absent when signing was off then (read again once it is on). */
  signature?: SignatureCheck;
  head: ManifestHead;
  /** The number of parts. */
  parts: number;
  /** Where this host keeps the manifest's stored bytes. */
  place: PackPlace;
}
/** Version 5: one row of summaries per backup, pointing into append-only packs of whole manifests (version 4 kept a file per manifest). */
const FORMAT = 'rast-backup/manifest-cache/5';
/** The version before: its rows are version 5's without their place (the last three fields). */
const FORMAT_4 = 'rast-backup/manifest-cache/4';
const FORMAT_4_HEAD = Buffer.from(`{"format":"${FORMAT_4}"`);
/** Fields of a row (see row()). */
const ROW_FIELDS = 27;
/** More packs than this are merged into one (all but the largest), so that a host keeps a few files whatever the number of backups. */
const MAX_PACKS = 8;
/** A pack, or a temporary, that no summary names and that is older than this was left by a process that was killed or lost a race. */
const ABANDONED_MS = 3600_000;

const packName = () => `pack-${randomBytes(8).toString('hex')}.pack`;

/**
 * Packs this process has open, by path. A pack is never changed once named, and an open one stays readable after
 * another process removes it (when it compacts), so a copy found through a summary never goes away under a reader.
 */
const openPacks = new Map<string, number>();

function openPack(file: string): number | undefined {
  let fd = openPacks.get(file);
  if (fd === undefined) {
    try {
      fd = openSync(file, 'r');
    } catch {
      return undefined;
    }
    openPacks.set(file, fd);
  }
  return fd;
}

/** The bytes at `place` in an open pack. */
function readPlace(fd: number, place: PackPlace): Buffer {
  const data = Buffer.allocUnsafe(place.length);
  let done = 0;
  while (done < place.length) {
    const read = readSync(fd, data, done, place.length - done, place.offset + done);
    if (read === 0) break;
    done += read;
  }
  return data.subarray(0, done);
}

interface Saved {
  format?: string;
  location?: string;
  shared?: unknown[];
  packs?: string[];
  backups?: unknown[][];
}

/**
 * What this host has read and checked of each sink's manifests (their signature too, when signing is on), in its
 * state directory: `manifests/<sink>.json` holds a summary per backup (ManifestHead, as one JSON array, its
 * transforms and serializer shared, and where its stored bytes are), `manifests/<sink>/pack-<random>.pack` the
 * manifests' stored bytes, one after another, read when an operation needs the whole manifest. A committed manifest
 * is never rewritten in place, so the summary of a key the sink still lists at the same size and version (an S3
 * ETag), with its signatures listed as before, is that manifest's: the catalog reads only the listing and the
 * manifests that are new since the last run. The manifests in the sinks stay the truth; a missing or unreadable
 * cache only costs time.
 *
 * No lock: every file is written under a temporary name and renamed, a pack is never changed once named, and a
 * process saving the summaries merges those another process saved meanwhile, dropping only the backups it saw
 * and the sink no longer lists. Two processes saving at once may lose each other's new rows: the next run reads
 * those manifests again.
 */
export class ManifestCache {
  constructor(private readonly directory: string | undefined) {}

  private files(sink: Sink): { summaries: string; packs: string } | undefined {
    if (!this.directory) return undefined;
    const owner = createHash('sha256').update(`${sink.name}\0${sink.location}`).digest('hex').slice(0, 24);
    return { summaries: path.join(this.directory, 'manifests', `${owner}.json`), packs: path.join(this.directory, 'manifests', owner) };
  }

  /** This run's view of the cache of `sink`: the summaries whose whole copy this host holds, read before the sink is listed. */
  async open(sink: Sink): Promise<ManifestCacheRun> {
    const files = this.files(sink);
    if (files) await fromFormat4(sink, files).catch(() => {});
    return new ManifestCacheRun(sink, files, files ? await loadSummaries(sink, files.summaries, files.packs) : new Map());
  }

  /** The whole manifest this host kept of `id`; throws naming the pack when it is gone or is not the one summarized. */
  readManifest(sink: Sink, id: string, copy: { sha256: string; place: PackPlace }): Manifest {
    const files = this.files(sink)!;
    const file = path.join(files.packs, copy.place.pack);
    const fd = openPack(file);
    const data = fd === undefined ? undefined : readPlace(fd, copy.place);
    if (!data) throw new Error(`this host's copy of the manifest of backup ${id} (${file}) cannot be read: the pack is gone`);
    const { manifest, problem } = parseManifest(data, id);
    if (createHash('sha256').update(data).digest('hex') !== copy.sha256 || !manifest) {
      // Its summary is dropped, so that the next run reads the manifest from the sink again.
      forget(sink, files.summaries, id, copy.sha256);
      throw new Error(
        `this host's copy of the manifest of backup ${id} (${file} at ${copy.place.offset}) is not the one read from the sink${problem ? ` (${problem})` : ''}`,
      );
    }
    return manifest;
  }
}

/** One catalog's use of the cache of one sink: what was held when it began, the manifests it read, and the save. */
export class ManifestCacheRun {
  private pack?: { name: string; temporary: string; handle: Promise<FileHandle>; size: number };

  constructor(
    private readonly sink: Sink,
    private readonly files: { summaries: string; packs: string } | undefined,
    /** The summaries this host held when the run began (only those whose pack could be opened). */
    readonly cached: Map<string, CachedManifest>,
  ) {}

  /** Keeps a manifest's stored bytes in this run's pack; undefined when this host keeps none. */
  async keep(data: Buffer): Promise<PackPlace | undefined> {
    if (!this.files) return undefined;
    try {
      if (!this.pack) {
        const name = packName();
        const temporary = path.join(this.files.packs, `${name}.tmp`);
        const handle = makeDirectories(this.files.packs, 0o700).then(() => open(temporary, 'wx+', 0o600));
        this.pack = { name, temporary, handle, size: 0 };
      }
      const pack = this.pack;
      const offset = pack.size;
      pack.size += data.length;
      const handle = await pack.handle;
      await handle.write(data, 0, data.length, offset);
      return { pack: pack.name, offset, length: data.length };
    } catch {
      return undefined;
    }
  }

  /**
   * Saves the summaries: `kept` (what this run found listed and holds), over those another process saved since
   * the run began, less the backups this run saw and the sink no longer lists (`listed`); packs mostly dead, or
   * past MAX_PACKS, are merged. A failure to write is ignored (the next run reads the manifests again).
   */
  async save(kept: Map<string, CachedManifest>, listed: Set<string>): Promise<void> {
    const files = this.files;
    if (!files) return;
    const temporary = `${files.summaries}.tmp-${randomBytes(4).toString('hex')}`;
    const made: string[] = [];
    try {
      if (this.pack) {
        const handle = await this.pack.handle;
        const file = path.join(files.packs, this.pack.name);
        await rename(this.pack.temporary, file);
        openPacks.set(file, handle.fd);
        made.push(this.pack.name);
        // The handle stays open for reads through openPacks; the run's pack is named once only.
        keepOpen.add(handle);
        this.pack = undefined;
      }
      const rows = new Map(kept);
      const seen = new Set([...this.cached.values()].map(({ place }) => place.pack));
      // Backups another process saved since this run began, which this run did not list: not seen, so kept.
      for (const [id, copy] of await loadSummaries(this.sink, files.summaries, files.packs)) {
        seen.add(copy.place.pack);
        if (!rows.has(id) && !listed.has(id) && !this.cached.has(id)) rows.set(id, copy);
      }
      const removed = await compact(rows, files.packs, seen);
      const shared: unknown[] = [];
      const sharedAt = new Map<string, number>();
      const share = (value: unknown) => {
        const text = JSON.stringify(value);
        let at = sharedAt.get(text);
        if (at === undefined) sharedAt.set(text, (at = shared.push(value) - 1));
        return at;
      };
      const packs: string[] = [];
      const packAt = new Map<string, number>();
      const packOf = (name: string) => {
        let at = packAt.get(name);
        if (at === undefined) packAt.set(name, (at = packs.push(name) - 1));
        return at;
      };
      const backups = [...rows.values()].map((copy) => row(copy, share, packOf));
      await makeDirectories(path.dirname(files.summaries), 0o700);
      await writeFile(temporary, JSON.stringify({ format: FORMAT, location: this.sink.location, shared, packs, backups }), {
        mode: 0o600,
        flag: 'wx',
      });
      await rename(temporary, files.summaries);
      for (const name of removed) await unlink(path.join(files.packs, name)).catch(() => {});
      await sweep(files.packs, new Set(packs), path.dirname(files.summaries));
    } catch {
      await unlink(temporary).catch(() => {});
    }
  }
}

/** FileHandles of the packs this process wrote, kept from being closed while openPacks reads through their fd. */
const keepOpen = new Set<FileHandle>();

/**
 * A cache of version 4 (a file per manifest, rows without a place) moved into one pack, so that an upgrade reads
 * no manifest from the sinks again; a row whose file is missing or is not the one summarized is left out (its
 * manifest is read again). Memory: one manifest at a time.
 */
async function fromFormat4(sink: Sink, files: { summaries: string; packs: string }): Promise<void> {
  let saved: Saved;
  try {
    // Its first bytes tell the version (written first), so that a cache of this version is not parsed twice.
    const handle = await open(files.summaries, 'r');
    const head = Buffer.alloc(FORMAT_4_HEAD.length);
    try {
      await handle.read(head, 0, head.length, 0);
    } finally {
      await handle.close();
    }
    if (!head.equals(FORMAT_4_HEAD)) return;
    saved = JSON.parse(await readFile(files.summaries, 'utf8')) as Saved;
  } catch {
    return;
  }
  if (saved.format !== FORMAT_4 || saved.location !== sink.location || !Array.isArray(saved.backups) || !Array.isArray(saved.shared))
    return;
  const name = packName();
  const temporary = path.join(files.packs, `${name}.tmp`);
  const pack = await open(temporary, 'wx', 0o600);
  const backups: unknown[][] = [];
  try {
    let offset = 0;
    for (const row of saved.backups) {
      if (!Array.isArray(row) || row.length !== ROW_FIELDS - 3 || typeof row[0] !== 'string') continue;
      const data = await readFile(path.join(files.packs, `${encodeURIComponent(row[0])}.json`)).catch(() => undefined);
      if (!data || createHash('sha256').update(data).digest('hex') !== row[4]) continue;
      await pack.write(data, 0, data.length, offset);
      backups.push([...row, 0, offset, data.length]);
      offset += data.length;
    }
  } finally {
    await pack.close();
  }
  if (backups.length > 0) await rename(temporary, path.join(files.packs, name));
  else await unlink(temporary);
  const summaries = `${files.summaries}.tmp-${randomBytes(4).toString('hex')}`;
  const migrated = { format: FORMAT, location: sink.location, shared: saved.shared, packs: backups.length > 0 ? [name] : [], backups };
  await writeFile(summaries, JSON.stringify(migrated), { mode: 0o600, flag: 'wx' });
  await rename(summaries, files.summaries);
  for (const file of await readdir(files.packs)) if (file.endsWith('.json')) await unlink(path.join(files.packs, file)).catch(() => {});
}

/** The summaries saved for `sink` whose pack can be opened; none when the file is missing, damaged or of another format. */
async function loadSummaries(sink: Sink, summaries: string, packs: string): Promise<Map<string, CachedManifest>> {
  const found = new Map<string, CachedManifest>();
  try {
    const saved = JSON.parse(await readFile(summaries, 'utf8')) as Saved;
    if (
      saved.format !== FORMAT ||
      saved.location !== sink.location ||
      !Array.isArray(saved.backups) ||
      !Array.isArray(saved.shared) ||
      !Array.isArray(saved.packs)
    )
      return found;
    const open = saved.packs.map(
      (name) => typeof name === 'string' && !name.includes('/') && openPack(path.join(packs, name)) !== undefined,
    );
    for (const row of saved.backups) {
      const copy = fromRow(row, saved.shared, saved.packs);
      if (open[row[24] as number]) found.set(copy.head.id, copy);
    }
    return found;
  } catch {
    return new Map();
  }
}

/**
 * Moves the live copies of packs mostly dead (or, past MAX_PACKS, of all but the largest) into one new pack, and
 * points `rows` at it; returns the packs of `seen` (those named by the summaries this run read) left without a
 * row, for removal once the summaries naming the new one are saved.
 */
async function compact(rows: Map<string, CachedManifest>, directory: string, seen: Set<string>): Promise<string[]> {
  const live = new Map<string, number>();
  for (const { place } of rows.values()) live.set(place.pack, (live.get(place.pack) ?? 0) + place.length);
  const sizes = new Map<string, number>();
  for (const name of live.keys()) sizes.set(name, fstatSync(openPack(path.join(directory, name))!).size);
  const victims = new Set([...live].filter(([name, bytes]) => bytes * 2 < sizes.get(name)!).map(([name]) => name));
  const others = [...live.keys()].filter((name) => !victims.has(name)).sort((a, b) => sizes.get(b)! - sizes.get(a)!);
  if (others.length > MAX_PACKS) for (const name of others.slice(1)) victims.add(name);
  const dead = [...seen].filter((name) => !live.has(name));
  if (victims.size === 0) return dead;
  const name = packName();
  const temporary = path.join(directory, `${name}.tmp`);
  const chunks: Buffer[] = [];
  let offset = 0;
  const moved = new Map<string, CachedManifest>();
  for (const [id, copy] of rows) {
    if (!victims.has(copy.place.pack)) continue;
    const data = readPlace(openPack(path.join(directory, copy.place.pack))!, copy.place);
    if (createHash('sha256').update(data).digest('hex') !== copy.sha256) {
      rows.delete(id);
      continue;
    }
    chunks.push(data);
    moved.set(id, { ...copy, place: { pack: name, offset, length: data.length } });
    offset += data.length;
  }
  await writeFile(temporary, Buffer.concat(chunks), { mode: 0o600, flag: 'wx' });
  const file = path.join(directory, name);
  await rename(temporary, file);
  openPack(file);
  for (const [id, copy] of moved) rows.set(id, copy);
  return [...dead, ...victims];
}

/**
 * Removes packs and temporaries no summary names that were abandoned long ago (summaries' temporaries in `parent`
 * too), and version 4's files (one per manifest).
 */
async function sweep(directory: string, named: Set<string>, parent: string): Promise<void> {
  const now = Date.now();
  for (const name of await readdir(parent)) {
    if (!name.includes('.json.tmp-')) continue;
    const { mtimeMs } = await stat(path.join(parent, name)).catch(() => ({ mtimeMs: now }));
    if (now - mtimeMs > ABANDONED_MS) await unlink(path.join(parent, name)).catch(() => {});
  }
  for (const name of await readdir(directory)) {
    const file = path.join(directory, name);
    if (name.endsWith('.json')) await unlink(file).catch(() => {});
    else if (!named.has(name) && name.startsWith('pack-')) {
      const { mtimeMs } = await stat(file).catch(() => ({ mtimeMs: now }));
      if (now - mtimeMs > ABANDONED_MS) await unlink(file).catch(() => {});
    }
  }
}

/** Drops the summary of `id` (whose copy is `sha256`) from the saved summaries, so that the next run reads it again. */
function forget(sink: Sink, summaries: string, id: string, sha256: string): void {
  const temporary = `${summaries}.tmp-${randomBytes(4).toString('hex')}`;
  try {
    const saved = JSON.parse(readFileSync(summaries, 'utf8')) as Saved;
    if (saved.format !== FORMAT || saved.location !== sink.location || !Array.isArray(saved.backups)) return;
    saved.backups = saved.backups.filter((row) => !(row[0] === id && row[4] === sha256));
    writeFileSync(temporary, JSON.stringify(saved), { mode: 0o600, flag: 'wx' });
    renameSync(temporary, summaries);
  } catch {
    try {
      unlinkSync(temporary);
    } catch {
      // Never written.
    }
  }
}

function row(copy: CachedManifest, share: (value: unknown) => number, packOf: (name: string) => number): unknown[] {
  const { head } = copy;
  const { index } = head;
  return [
    head.id,
    copy.size,
    copy.version ?? null,
    copy.signatures,
    copy.sha256,
    copy.signature ?? null,
    copy.parts,
    head.name,
    head.tags,
    head.created,
    head.host,
    head.parent,
    head.source.path,
    head.source.kind,
    head.source.atomic,
    share(head.serializer),
    share(head.transforms),
    head.partSize,
    [index.key, index.size, index.storedSize, index.sha256, index.entries],
    head.size,
    head.storedSize,
    head.signer?.fingerprint ?? null,
    head.unsignedAccepted ?? null,
    head.exclude ?? null,
    packOf(copy.place.pack),
    copy.place.offset,
    copy.place.length,
  ];
}

/** A row back into a summary; throws on one of another shape (the whole file is then read again from the sinks). */
function fromRow(row: unknown[], shared: unknown[], packs: unknown[]): CachedManifest {
  // Read field by field, without spreads or slices: this runs once per backup held (10,000 in a `list`).
  if (!Array.isArray(row) || row.length !== ROW_FIELDS || typeof row[0] !== 'string' || typeof row[4] !== 'string')
    throw new Error('not a row');
  const serializer = shared[row[15] as number];
  const transforms = shared[row[16] as number];
  const index = row[18] as [string, number, number, string, number];
  const pack = packs[row[24] as number];
  if (serializer === undefined || transforms === undefined || !Array.isArray(index) || typeof pack !== 'string')
    throw new Error('not a row');
  const head: ManifestHead = {
    format: 'rast-backup/manifest',
    version: 1,
    id: row[0],
    name: row[7] as string | null,
    tags: row[8] as string[],
    created: row[9] as string,
    host: row[10] as string,
    parent: row[11] as string | null,
    source: { path: row[12] as string, kind: row[13] as string, atomic: row[14] as boolean },
    serializer: serializer as ManifestHead['serializer'],
    transforms: transforms as ManifestHead['transforms'],
    partSize: row[17] as number,
    index: { key: index[0], size: index[1], storedSize: index[2], sha256: index[3], entries: index[4] },
    size: row[19] as number,
    storedSize: row[20] as number,
  };
  if (row[21] !== null) head.signer = { fingerprint: row[21] as string };
  if (row[22] !== null) head.unsignedAccepted = row[22] as string[];
  if (row[23] !== null) head.exclude = row[23] as string[];
  const copy: CachedManifest = {
    size: row[1] as number,
    signatures: row[3] as string,
    sha256: row[4],
    head,
    parts: row[6] as number,
    place: { pack, offset: row[25] as number, length: row[26] as number },
  };
  if (row[2] !== null) copy.version = row[2] as string;
  if (row[5] !== null) copy.signature = row[5] as SignatureCheck;
  return copy;
}
