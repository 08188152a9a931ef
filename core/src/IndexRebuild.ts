import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ErrorCode, RastError } from './errors.js';
import { encodeRunHeader, type IndexBlock, type IndexRunHeader } from './IndexRun.js';
import type { IndexView } from './IndexView.js';
import { INDEX_BLOCK_BYTES, writeIndex } from './IndexWriter.js';
import { NAMES_ERROR } from './BlockNames.js';
import type { Manifest, PartRecord } from './Manifest.js';
import { checkStored } from './PartChecksum.js';
import { PartEncoder } from './PartEncoder.js';
import { RepositoryKeys } from './RepositoryKeys.js';
import type { Runtime } from './Runtime.js';
import type { Format, Sink, Transform } from './types.js';
import { indexNotRebuilt } from './diagnostics/index.js';

/** How a rebuilt index was stored. */
export type IndexRebuild =
  /** Rebuilt byte for byte as the manifest records it: the missing objects were stored again, the manifest is unchanged. */
  | { outcome: 'same'; stored: number }
  /**
   * Rebuilt, but not to the recorded bytes (encryption makes new bytes every time; or the stream tells less):
   * stored as a new generation of objects, which `manifest` (not yet committed) points at.
   */
  | { outcome: 'new'; manifest: Manifest; objects: string[]; lacks?: string };

/** The transforms of this config, when they are exactly those the backup was made with (needed to encode its index again). */
async function matchingTransforms(runtime: Runtime, manifest: Manifest): Promise<Transform[]> {
  const transforms = [...(await runtime.pipeline.hooks.transforms.promise([]))].sort((a, b) => a.stage - b.stage);
  const describe = (list: Array<{ name: string; params: Record<string, unknown> }>) =>
    JSON.stringify(list.map(({ name, params }) => [name, params]));
  if (describe(transforms) !== describe(manifest.transforms))
    throw indexNotRebuilt(
      manifest.id,
      `its file index cannot be stored again: it was made with transforms ${manifest.transforms.map((t) => t.name).join(', ') || 'none'} whose parameters this config does not give (a key or level changed); repair with a config that makes backups as this one was made`,
    );
  return transforms;
}

/**
 * Rebuilds backup `manifest`'s file index from its stream with the format's `reindex`, and lays it out as create
 * would (writeIndex over `parentIndex`), each object's plaintext kept in a temporary directory, not in memory.
 * When the result encodes to the very header the manifest records, the objects are stored again under their
 * keys in `targets` (each checked against its record first). Otherwise the run is stored whole or as laid out,
 * under a new generation of keys, and the caller commits the returned manifest.
 */
export async function rebuildIndex(
  runtime: Runtime,
  manifest: Manifest,
  format: Format,
  parentIndex: IndexView | undefined,
  targets: Sink[],
): Promise<IndexRebuild> {
  const { log } = runtime;
  const id = manifest.id;
  if (!format.reindex) throw indexNotRebuilt(id, `format ${format.name} cannot rebuild a file index from its stream`);
  const transforms = await matchingTransforms(runtime, manifest);
  PartEncoder.startThreads();
  const encoder = new PartEncoder(transforms, runtime.settings.partSize, 2);
  const rebuilt = await format.reindex({ manifest, stream: runtime.repository.parts.openStream(manifest), parentIndex, log });
  const staging = await mkdtemp(path.join(tmpdir(), 'rast-repair-'));
  try {
    // Laid out as create lays it out, under the recorded keys; each object's plaintext kept aside.
    const staged = new Map<string, PartRecord>();
    const files = new Map<string, string>();
    // A run written before blocks had name filters is rebuilt without them, so that it can encode to the same header.
    const recorded = await runtime.repository.indexes.header(manifest).catch(() => undefined);
    const namesError = recorded && recorded.blocks.length > 0 && recorded.blocks.every((block) => !block.names) ? null : NAMES_ERROR;
    const written = await writeIndex(
      id,
      rebuilt.index,
      parentIndex,
      async (key, plain) => {
        const file = path.join(staging, String(files.size));
        files.set(key, file);
        await writeFile(file, plain, { mode: 0o600 });
        const { data, sha256, release } = await encoder.encode(key, Buffer.from(plain));
        const record = { key, size: plain.length, storedSize: data.length, sha256 };
        release();
        staged.set(key, record);
        return record;
      },
      undefined,
      INDEX_BLOCK_BYTES,
      namesError,
    );
    if (written.record.entries !== manifest.index.entries)
      throw indexNotRebuilt(
        id,
        `the file index rebuilt from its stream holds ${written.record.entries} entries, the manifest says ${manifest.index.entries}: left as it is`,
      );
    const plainOf = async (key: string) => readFile(files.get(key)!);
    if (written.record.sha256 === manifest.index.sha256 && written.record.storedSize === manifest.index.storedSize) {
      let stored = 0;
      for (const record of staged.values()) {
        const { data, release } = await encoder.encode(record.key, await plainOf(record.key));
        try {
          const mismatch = await checkStored(data, record);
          if (mismatch) throw new Error(`${record.key} encodes differently the second time (${mismatch.message})`);
          for (const sink of targets) {
            if (await holdsGood(sink, record)) continue;
            await sink.put(record.key, data);
            stored++;
          }
        } finally {
          release();
        }
      }
      await Promise.all(targets.map((sink) => sink.flush?.()));
      return { outcome: 'same', stored };
    }
    // A new generation: each block encoded again for its new key, then the header that lists them.
    const generation = Date.now().toString(36);
    const objects: string[] = [];
    const store = async (key: string, plain: Buffer): Promise<PartRecord> => {
      const { data, sha256, release } = await encoder.encode(key, plain);
      try {
        for (const sink of targets) await sink.put(key, data);
      } finally {
        release();
      }
      objects.push(key);
      return { key, size: plain.length, storedSize: data.length, sha256 };
    };
    const blocks: IndexBlock[] = [];
    for (const [n, block] of written.header.blocks.entries()) {
      const record = await store(RepositoryKeys.rebuiltIndexBlock(id, generation, n), await plainOf(block.key));
      blocks.push({ ...record, first: block.first, records: block.records });
    }
    const header: IndexRunHeader = { ...written.header, blocks };
    const headerRecord = await store(RepositoryKeys.rebuiltIndex(id, generation), encodeRunHeader(header));
    await Promise.all(targets.map((sink) => sink.flush?.()));
    const storedSize = [...manifest.parts, ...blocks].reduce((sum, part) => sum + part.storedSize, headerRecord.storedSize);
    return {
      outcome: 'new',
      manifest: { ...manifest, index: { ...headerRecord, entries: written.record.entries }, storedSize },
      objects,
      ...(rebuilt.lacks ? { lacks: rebuilt.lacks } : {}),
    };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Whether `sink` holds a copy of `record` with its size and SHA-256. */
export async function holdsGood(sink: Sink, record: PartRecord): Promise<boolean> {
  try {
    return (await checkStored(await sink.get(record.key), record)) === undefined;
  } catch (error) {
    if (error instanceof RastError && error.code === ErrorCode.PART_MISSING) return false;
    throw error;
  }
}
