import type { BackupGraph } from './BackupGraph.js';
import type { BlockRecords } from './BlockRecords.js';
import { decodeFileIndex } from './FileIndex.js';
import type { IndexCache } from './IndexCache.js';
import { decodeBlock, decodeRunHeader, indexVersion, type IndexBlock, type IndexRun, type IndexRunHeader } from './IndexRun.js';
import { IndexView } from './IndexView.js';
import type { ManifestHead } from './ManifestHead.js';
import type { PartReader } from './PartReader.js';
import { indexDamaged } from './diagnostics/index.js';

/** A run in the repository: each block fetched from a sink with a good copy, checked and untransformed when read. */
class StoredRun implements IndexRun {
  readonly backupId: string;
  readonly firsts: string[];
  readonly records: number;
  constructor(
    private readonly manifest: ManifestHead,
    private readonly blocks: IndexBlock[],
    private readonly parts: PartReader,
  ) {
    this.backupId = manifest.id;
    this.firsts = blocks.map((block) => block.first);
    this.records = blocks.reduce((sum, block) => sum + block.records, 0);
  }

  async readBlock(block: number): Promise<BlockRecords> {
    const label = `file index block ${block + 1} of ${this.blocks.length}`;
    const data = await this.parts.readPlain(this.manifest, this.blocks[block]!, label);
    return decodeBlock(data, (message) => damaged(this.manifest, `${label}: ${message}`));
  }
}

const damaged = (manifest: ManifestHead, message: string) => indexDamaged(manifest.id, message);

/** What a backup's index object holds once decoded. */
type IndexObject = { version: 1; view: IndexView } | { version: 2; header: IndexRunHeader; run: IndexRun };

/** Index objects kept decoded (their headers), the least recently used let go first. */
const OBJECTS_KEPT = 1024;

/**
 * Opens backups' file indexes as views over their runs (see IndexView): the index object of the backup, then
 * those of the backups it lies over. With `kept` (create reading its parent's index), a run this host kept
 * a plaintext copy of when it made the backup is read from that copy: no fetch and no decryption per block,
 * and a write-only host (which holds only the encryption public key) can make incrementals.
 */
export class IndexStore {
  constructor(
    private readonly parts: PartReader,
    private readonly graph: BackupGraph,
    private readonly cache: IndexCache,
    /**
     * Index objects read from the sinks, by backup and the index's SHA-256, when kept (see shared()): the views of a
     * chain lie over the same runs, so a search opening many of them reads and checks each run's header once.
     */
    private readonly objects?: Map<string, Promise<IndexObject>>,
  ) {}

  /**
   * A store that reads each index object once (up to 1,024 kept), for one search over many backups (find). Not for
   * verify: it must read what it checks each time.
   */
  shared(): IndexStore {
    return new IndexStore(this.parts, this.graph, this.cache, new Map());
  }

  private object(manifest: ManifestHead, useKept = false): Promise<IndexObject> {
    if (useKept || !this.objects) return this.read(manifest, useKept);
    const objects = this.objects;
    const key = `${manifest.id}\0${manifest.index.sha256}`;
    let reading = objects.get(key);
    if (reading) objects.delete(key);
    else {
      reading = this.read(manifest, false);
      // A version 1 index is decoded whole: not kept.
      reading.then(
        (object) => object.version === 1 && objects.delete(key),
        () => objects.delete(key),
      );
    }
    objects.set(key, reading);
    for (const old of objects.keys()) {
      if (objects.size <= OBJECTS_KEPT) break;
      objects.delete(old);
    }
    return reading;
  }

  private async read(manifest: ManifestHead, useKept: boolean): Promise<IndexObject> {
    const kept = useKept ? await this.cache.load(manifest) : undefined;
    if (kept) {
      return 'header' in kept ? { version: 2, header: kept.header, run: kept } : { version: 1, view: IndexView.of(kept) };
    }
    const data = await this.parts.readPlain(manifest, manifest.index, 'file index');
    try {
      if (indexVersion(data) === 1) return { version: 1, view: IndexView.of(decodeFileIndex(data)) };
      const header = decodeRunHeader(data);
      if (header.backupId !== manifest.id) throw new Error(`it is the index of backup ${header.backupId}`);
      return { version: 2, header, run: new StoredRun(manifest, header.blocks, this.parts) };
    } catch (error) {
      throw damaged(manifest, `file index: ${(error as Error).message}`);
    }
  }

  /** The backup's file index. */
  async open(manifest: ManifestHead, options: { kept?: boolean } = {}): Promise<IndexView> {
    const layers: IndexRun[] = [];
    let entries: number | undefined;
    let chain: { heads: ManifestHead[]; at: Map<string, number> } | undefined;
    for (let current: ManifestHead | undefined = manifest; current;) {
      const object = await this.object(current, options.kept);
      if (object.version === 1) {
        layers.push(...object.view.layers);
        entries ??= object.view.entries;
        break;
      }
      layers.push(object.run);
      entries ??= object.header.entries;
      const over = object.header.over;
      if (over === null) break;
      if (!chain) {
        const heads = await this.graph.chainHeads(manifest);
        chain = { heads, at: new Map(heads.map((head, position) => [head.id, position])) };
      }
      const position = chain.at.get(over);
      const below = position === undefined ? undefined : chain.heads[position];
      if (!below || position! >= chain.at.get(current.id)!)
        throw damaged(manifest, `file index: it lies over the index of backup ${over}, which is not an ancestor of it`);
      current = below;
    }
    return new IndexView(manifest.id, layers, entries ?? 0);
  }

  /** The header of the backup's own run; undefined for a version 1 index. */
  async header(manifest: ManifestHead): Promise<IndexRunHeader | undefined> {
    const object = await this.object(manifest);
    return object.version === 2 ? object.header : undefined;
  }

  /** The blocks of the backup's own run (none for a version 1 index), for checks of what it stored. */
  async blocks(manifest: ManifestHead): Promise<IndexBlock[]> {
    const object = await this.object(manifest);
    return object.version === 2 ? object.header.blocks : [];
  }
}
