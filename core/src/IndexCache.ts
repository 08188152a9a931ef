import { randomBytes } from 'node:crypto';
import { open, readFile, rename, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { makeDirectories } from './Directories.js';
import { blockMemory } from './BlockMemory.js';
import type { BlockRecords } from './BlockRecords.js';
import { decodeFileIndex, type FileIndex } from './FileIndex.js';
import { decodeBlock, decodeRunHeader, indexVersion, releaseEncoded, type IndexRun, type IndexRunHeader } from './IndexRun.js';
import type { ManifestHead } from './ManifestHead.js';

/** A run kept in the state directory: its header, and its blocks' plaintext one after another. */
class KeptRun implements IndexRun {
  readonly firsts: string[];
  readonly records: number;
  private readonly offsets: number[] = [];
  constructor(
    readonly backupId: string,
    readonly header: IndexRunHeader,
    private readonly blocksFile: string,
  ) {
    this.firsts = header.blocks.map((block) => block.first);
    this.records = header.blocks.reduce((sum, block) => sum + block.records, 0);
    let offset = 0;
    for (const block of header.blocks) {
      this.offsets.push(offset);
      offset += block.size;
    }
  }

  /** Read into memory from blockMemory, given back by releaseBlock. */
  async readBlock(block: number): Promise<BlockRecords> {
    const { size } = this.header.blocks[block]!;
    const memory = blockMemory.take(size);
    let kept = false;
    const handle = await open(this.blocksFile, 'r').catch((error: Error) => {
      blockMemory.give(memory);
      throw error;
    });
    try {
      const data = Buffer.from(memory, 0, size);
      const { bytesRead } = await handle.read(data, 0, size, this.offsets[block]);
      if (bytesRead !== size) throw new Error(`this host's copy of the file index of ${this.backupId} is cut short`);
      const records = decodeBlock(
        data,
        (message) => new Error(`this host's copy of the file index of ${this.backupId}, block ${block + 1}: ${message}`),
        () => blockMemory.give(memory),
      );
      kept = true;
      return records;
    } finally {
      if (!kept) blockMemory.give(memory);
      await handle.close();
    }
  }

  releaseBlock(records: BlockRecords): void {
    releaseEncoded(records);
  }
}

/** Writes the copy of one run as create stores it; nothing is visible until finish(). Never throws. */
export interface RunCopy {
  add(block: Buffer): Promise<void>;
  finish(header: Buffer): Promise<void>;
  abandon(): Promise<void>;
}

/**
 * Plaintext copies of the file indexes this host wrote, in its state directory (0600). An incremental
 * create reads its parent's index layers from the copies kept here when it has them (looking paths up in a
 * local file instead of fetching and decrypting a block per lookup; a write-only host cannot decrypt them at
 * all), else from the repository. A version 2 index is kept run by run: `<id>.header` (the run's header,
 * used only when its size is the one the manifest records) and `<id>.blocks` (its blocks' plaintext).
 */
export class IndexCache {
  constructor(private readonly directory: string | undefined) {}

  private file(id: string, extension: string): string | undefined {
    return this.directory && /^[\w.-]+$/.test(id) ? path.join(this.directory, 'indexes', `${id}.${extension}`) : undefined;
  }

  /**
   * Starts keeping a copy of backup `id`'s run; undefined without a state directory. A copy is a convenience:
   * its failures go to `onError` and end the copy, never the create.
   */
  begin(id: string, onError: (error: Error) => void): RunCopy | undefined {
    const blocksFile = this.file(id, 'blocks');
    const headerFile = this.file(id, 'header');
    if (!blocksFile || !headerFile) return undefined;
    const suffix = `.tmp-${randomBytes(4).toString('hex')}`;
    let failed = false;
    let opening: Promise<FileHandle> | undefined;
    const blocks = () => (opening ??= makeDirectories(path.dirname(blocksFile), 0o700).then(() => open(blocksFile + suffix, 'wx', 0o600)));
    const attempt = async (step: () => Promise<void>) => {
      if (failed) return;
      try {
        await step();
      } catch (error) {
        failed = true;
        onError(error as Error);
        await removeTemporaries();
      }
    };
    const removeTemporaries = async () => {
      await opening?.then((handle) => handle.close()).catch(() => {});
      await Promise.all([unlink(blocksFile + suffix), unlink(headerFile + suffix)].map((removing) => removing.catch(() => {})));
    };
    return {
      add: (block) =>
        attempt(async () => {
          await (await blocks()).write(block);
        }),
      finish: (header) =>
        attempt(async () => {
          await (await blocks()).close();
          const handle = await open(headerFile + suffix, 'wx', 0o600);
          try {
            await handle.writeFile(header);
          } finally {
            await handle.close();
          }
          await rename(blocksFile + suffix, blocksFile);
          await rename(headerFile + suffix, headerFile);
        }),
      abandon: async () => {
        failed = true;
        await removeTemporaries();
        await this.remove(id);
      },
    };
  }

  /** The kept index of `manifest`: its run (version 2) or whole (version 1); undefined unless kept for that backup at the recorded size. */
  async load(manifest: ManifestHead): Promise<KeptRun | FileIndex | undefined> {
    try {
      const headerFile = this.file(manifest.id, 'header');
      const data = headerFile ? await readFile(headerFile).catch(() => undefined) : undefined;
      if (data) {
        if (data.length !== manifest.index.size) return undefined;
        const header = decodeRunHeader(data);
        return header.backupId === manifest.id ? new KeptRun(manifest.id, header, this.file(manifest.id, 'blocks')!) : undefined;
      }
      const legacy = this.file(manifest.id, 'jsonl');
      if (!legacy) return undefined;
      const whole = await readFile(legacy);
      if (whole.length !== manifest.index.size || indexVersion(whole) !== 1) return undefined;
      const index = decodeFileIndex(whole);
      return index.backupId === manifest.id ? index : undefined;
    } catch {
      return undefined;
    }
  }

  async remove(id: string): Promise<void> {
    for (const extension of ['header', 'blocks', 'jsonl']) {
      const file = this.file(id, extension);
      if (file) await unlink(file).catch(() => {});
    }
  }
}

export type { KeptRun };
