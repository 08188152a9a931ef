import { randomBytes } from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { makeDirectories } from './Directories.js';
import { decodeFileIndex, type FileIndex } from './FileIndex.js';
import type { Manifest } from './Manifest.js';

/**
 * Plaintext copies of the file indexes this host wrote, in its state directory (0600). An incremental
 * create reads its parent's index from the repository; when that fails because this host cannot decode it
 * (a write-only host holds only the encryption public key), the copy kept here is used instead.
 */
export class IndexCache {
  constructor(private readonly directory: string | undefined) {}

  private file(id: string): string | undefined {
    return this.directory && /^[\w.-]+$/.test(id) ? path.join(this.directory, 'indexes', `${id}.jsonl`) : undefined;
  }

  async save(id: string, encoded: Buffer): Promise<void> {
    const file = this.file(id);
    if (!file) return;
    await makeDirectories(path.dirname(file), 0o700);
    const temporary = `${file}.tmp-${randomBytes(4).toString('hex')}`;
    const handle = await open(temporary, 'wx', 0o600);
    try {
      await handle.writeFile(encoded);
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  }

  /** The kept index of `manifest`, if there is one of the recorded size and for that backup. */
  async load(manifest: Manifest): Promise<FileIndex | undefined> {
    const file = this.file(manifest.id);
    if (!file) return undefined;
    try {
      const data = await readFile(file);
      if (data.length !== manifest.index.size) return undefined;
      const index = decodeFileIndex(data);
      return index.backupId === manifest.id ? index : undefined;
    } catch {
      return undefined;
    }
  }

  async remove(id: string): Promise<void> {
    const file = this.file(id);
    if (file) await unlink(file).catch(() => {});
  }
}
