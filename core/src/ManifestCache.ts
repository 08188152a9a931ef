import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeDirectories } from './Directories.js';
import type { SignatureCheck } from './ManifestAuthentication.js';
import { parseManifest, type Manifest } from './Manifest.js';
import type { ManifestHead } from './ManifestHead.js';
import type { Sink } from './types.js';

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
}

/** Version 4: one row of summaries per backup; the whole manifests in files of their own (version 3 kept them whole). */
const FORMAT = 'rast-backup/manifest-cache/4';
/** Fields of a row (see row()). */
const ROW_FIELDS = 24;

/** A backup's file name in a sink's directory of whole manifests. */
const fileName = (id: string) => `${encodeURIComponent(id)}.json`;

/**
 * What this host has read and checked of each sink's manifests (their signature too, when signing is on), in its
 * state directory: `manifests/<sink>.json` holds a summary per backup (ManifestHead, as one JSON array, its
 * transforms and serializer shared), `manifests/<sink>/<id>.json` each manifest's stored bytes, read when an
 * operation needs the whole manifest. A committed manifest is never rewritten in place, so the summary of a key
 * the sink still lists at the same size and version (an S3 ETag), with its signatures listed as before, is that
 * manifest's: the catalog reads only the listing and the manifests that are new since the last run. The
 * manifests in the sinks stay the truth; a missing or unreadable cache only costs time.
 */
export class ManifestCache {
  constructor(private readonly directory: string | undefined) {}

  private files(sink: Sink): { summaries: string; manifests: string } | undefined {
    if (!this.directory) return undefined;
    const owner = createHash('sha256').update(`${sink.name}\0${sink.location}`).digest('hex').slice(0, 24);
    return { summaries: path.join(this.directory, 'manifests', `${owner}.json`), manifests: path.join(this.directory, 'manifests', owner) };
  }

  /** The summaries of the sink's manifests whose whole copy this host holds. */
  async load(sink: Sink): Promise<Map<string, CachedManifest>> {
    const files = this.files(sink);
    if (!files) return new Map();
    try {
      const saved = JSON.parse(await readFile(files.summaries, 'utf8')) as {
        format?: string;
        location?: string;
        shared?: unknown[];
        backups?: unknown[][];
      };
      if (saved.format !== FORMAT || saved.location !== sink.location || !Array.isArray(saved.backups) || !Array.isArray(saved.shared))
        return new Map();
      const held = new Set(await readdir(files.manifests));
      const found = new Map<string, CachedManifest>();
      for (const row of saved.backups) {
        const copy = fromRow(row, saved.shared);
        if (held.has(fileName(copy.head.id))) found.set(copy.head.id, copy);
      }
      return found;
    } catch {
      return new Map();
    }
  }

  /** Replaces the sink's summaries, and removes the whole copies of manifests no longer listed; a failure to write is ignored (the next run reads the manifests again). */
  async save(sink: Sink, manifests: Map<string, CachedManifest>): Promise<void> {
    const files = this.files(sink);
    if (!files) return;
    const temporary = `${files.summaries}.tmp-${randomBytes(4).toString('hex')}`;
    const shared: unknown[] = [];
    const sharedAt = new Map<string, number>();
    const share = (value: unknown) => {
      const text = JSON.stringify(value);
      let at = sharedAt.get(text);
      if (at === undefined) sharedAt.set(text, (at = shared.push(value) - 1));
      return at;
    };
    try {
      const backups = [...manifests.values()].map((copy) => row(copy, share));
      await makeDirectories(path.dirname(files.summaries), 0o700);
      await writeFile(temporary, JSON.stringify({ format: FORMAT, location: sink.location, shared, backups }), { mode: 0o600, flag: 'wx' });
      await rename(temporary, files.summaries);
      const kept = new Set([...manifests.keys()].map(fileName));
      for (const name of await readdir(files.manifests))
        if (!kept.has(name)) await unlink(path.join(files.manifests, name)).catch(() => {});
    } catch {
      await unlink(temporary).catch(() => {});
    }
  }

  /** Keeps a manifest's stored bytes (checked against their SHA-256 when read); false when this host keeps none. */
  async saveManifest(sink: Sink, id: string, data: Buffer): Promise<boolean> {
    const files = this.files(sink);
    if (!files) return false;
    try {
      await makeDirectories(files.manifests, 0o700);
      await writeFile(path.join(files.manifests, fileName(id)), data, { mode: 0o600 });
      return true;
    } catch {
      return false;
    }
  }

  /** The whole manifest this host kept of `id`; throws naming the file when it is gone or is not the one summarized. */
  readManifest(sink: Sink, id: string, sha256: string): Manifest {
    const file = path.join(this.files(sink)!.manifests, fileName(id));
    let data: Buffer;
    try {
      data = readFileSync(file);
    } catch (error) {
      throw new Error(`this host's copy of the manifest of backup ${id} (${file}) cannot be read: ${(error as Error).message}`, {
        cause: error,
      });
    }
    const { manifest, problem } = parseManifest(data, id);
    if (createHash('sha256').update(data).digest('hex') !== sha256 || !manifest) {
      // Gone from the directory, its summary is dropped on the next load: the manifest is read from the sink again.
      try {
        unlinkSync(file);
      } catch {
        // Another process removed it first.
      }
      throw new Error(
        `this host's copy of the manifest of backup ${id} (${file}) is not the one read from the sink${problem ? ` (${problem})` : ''}`,
      );
    }
    return manifest;
  }
}

function row(copy: CachedManifest, share: (value: unknown) => number): unknown[] {
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
  ];
}

/** A row back into a summary; throws on one of another shape (the whole file is then read again from the sinks). */
function fromRow(row: unknown[], shared: unknown[]): CachedManifest {
  if (!Array.isArray(row) || row.length !== ROW_FIELDS || typeof row[0] !== 'string' || typeof row[4] !== 'string')
    throw new Error('not a row');
  const [
    id,
    size,
    version,
    signatures,
    sha256,
    signature,
    parts,
    name,
    tags,
    created,
    host,
    parent,
    sourcePath,
    kind,
    atomic,
    serializer,
    transforms,
  ] = row as [
    string,
    number,
    string | null,
    string,
    string,
    SignatureCheck | null,
    number,
    string | null,
    string[],
    string,
    string,
    string | null,
    string,
    string,
    boolean,
    number,
    number,
  ];
  const [partSize, index, total, storedSize, fingerprint, unsignedAccepted, exclude] = row.slice(17) as [
    number,
    [string, number, number, string, number],
    number,
    number,
    string | null,
    string[] | null,
    string[] | null,
  ];
  if (shared[serializer] === undefined || shared[transforms] === undefined || !Array.isArray(index)) throw new Error('not a row');
  const head: ManifestHead = {
    format: 'rast-backup/manifest',
    version: 1,
    id,
    name,
    tags,
    created,
    host,
    parent,
    source: { path: sourcePath, kind, atomic },
    serializer: shared[serializer] as ManifestHead['serializer'],
    transforms: shared[transforms] as ManifestHead['transforms'],
    partSize,
    index: { key: index[0], size: index[1], storedSize: index[2], sha256: index[3], entries: index[4] },
    size: total,
    storedSize,
  };
  if (fingerprint !== null) head.signer = { fingerprint };
  if (unsignedAccepted !== null) head.unsignedAccepted = unsignedAccepted;
  if (exclude !== null) head.exclude = exclude;
  return { size, ...(version !== null ? { version } : {}), signatures, sha256, ...(signature !== null ? { signature } : {}), head, parts };
}
