import { createHash, randomBytes } from 'node:crypto';
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeDirectories } from './Directories.js';
import type { SignatureCheck } from './ManifestAuthentication.js';
import type { Manifest } from './Manifest.js';
import type { Sink } from './types.js';

/** A manifest as checked when it was read, and the size (and version, where the sink has one) it was listed with. */
export interface CachedManifest {
  size: number;
  version?: string;
  manifest: Manifest;
  /** Its signature as checked when read; absent when signing was off then (read again once it is on). */
  signature?: SignatureCheck;
}

/** Version 3: manifests are kept with their signature check (version 2's were not checked: they are read again). */
const FORMAT = 'rast-backup/manifest-cache/3';

/**
 * The manifests this host has read and checked (their signature too, when signing is on), one file per sink in its state directory. A committed
 * manifest is never rewritten in place, so the copy of a key the sink still lists, at the listed size and
 * version (an S3 ETag), is that manifest: the catalog reads only the listing and the manifests that are
 * new since the last run. The manifests in the sinks stay the truth; a missing or unreadable cache only
 * costs time.
 */
export class ManifestCache {
  constructor(private readonly directory: string | undefined) {}

  private file(sink: Sink): string | undefined {
    if (!this.directory) return undefined;
    const owner = createHash('sha256').update(`${sink.name}\0${sink.location}`).digest('hex').slice(0, 24);
    return path.join(this.directory, 'manifests', `${owner}.json`);
  }

  async load(sink: Sink): Promise<Map<string, CachedManifest>> {
    const file = this.file(sink);
    if (!file) return new Map();
    try {
      const saved = JSON.parse(await readFile(file, 'utf8')) as {
        format?: string;
        location?: string;
        manifests?: Record<string, CachedManifest>;
      };
      if (saved.format !== FORMAT || saved.location !== sink.location || typeof saved.manifests !== 'object') return new Map();
      return new Map(Object.entries(saved.manifests ?? {}));
    } catch {
      return new Map();
    }
  }

  /** Replaces the sink's copies; a failure to write is ignored (the next run reads the manifests again). */
  async save(sink: Sink, manifests: Map<string, CachedManifest>): Promise<void> {
    const file = this.file(sink);
    if (!file) return;
    const temporary = `${file}.tmp-${randomBytes(4).toString('hex')}`;
    try {
      await makeDirectories(path.dirname(file), 0o700);
      await writeFile(temporary, JSON.stringify({ format: FORMAT, location: sink.location, manifests: Object.fromEntries(manifests) }), {
        mode: 0o600,
        flag: 'wx',
      });
      await rename(temporary, file);
    } catch {
      await unlink(temporary).catch(() => {});
    }
  }
}
