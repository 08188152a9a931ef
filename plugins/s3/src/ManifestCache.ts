import { createHash, randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeDirectories } from '@rast-backup/core';

/**
 * Local copies of small immutable objects (manifests) of one bucket and prefix, so that `list` and `info`
 * need one listing instead of one download per backup. An entry is used only when the object's ETag,
 * as the store reports it, is the one cached: a rewritten or replaced object is fetched again.
 * Failures of the cache never fail an operation: it is only a cache.
 */
export class ManifestCache {
  private readonly directory: string;
  private broken = false;

  /** `identity` names the store (endpoint, bucket, prefix); each store gets its own directory. */
  constructor(root: string, identity: string, private readonly warn: (message: string) => void) {
    this.directory = path.join(root, 's3', createHash('sha256').update(identity).digest('hex').slice(0, 24));
  }

  private file(key: string): string {
    return path.join(this.directory, encodeURIComponent(key));
  }

  async get(key: string, etag: string): Promise<Buffer | undefined> {
    if (this.broken) return undefined;
    const stored = await readFile(this.file(key)).catch(() => undefined);
    if (!stored) return undefined;
    const newline = stored.indexOf(10);
    if (newline < 0 || stored.subarray(0, newline).toString() !== normaliseEtag(etag)) return undefined;
    return stored.subarray(newline + 1);
  }

  async put(key: string, etag: string | undefined, data: Buffer): Promise<void> {
    if (this.broken || !etag) return;
    const target = this.file(key);
    const temporary = `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      await makeDirectories(this.directory, 0o700);
      await writeFile(temporary, Buffer.concat([Buffer.from(`${normaliseEtag(etag)}\n`), data]), { mode: 0o600 });
      await rename(temporary, target);
    } catch (error) {
      await rm(temporary, { force: true }).catch(() => {});
      this.broken = true;
      this.warn(`manifest cache ${this.directory} is not writable (${(error as Error).message}); going on without it`);
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.file(key), { force: true }).catch(() => {});
  }
}

/** ETags are quoted in some answers and not in others. */
export function normaliseEtag(etag: string): string {
  return etag.replace(/^(W\/)?"|"$/g, '');
}
