import type { BackupGraph } from './BackupGraph.js';
import { blockMemory } from './BlockMemory.js';
import type { BlockRecords } from './BlockRecords.js';
import { decodeFileIndex } from './FileIndex.js';
import type { IndexCache } from './IndexCache.js';
import {
  blockNames,
  decodeBlock,
  decodeRunHeader,
  indexVersion,
  releaseEncoded,
  type IndexBlock,
  type IndexRun,
  type IndexRunHeader,
} from './IndexRun.js';
import { IndexView } from './IndexView.js';
import type { ManifestHead } from './ManifestHead.js';
import type { PartRecord } from './Manifest.js';
import type { PartReader } from './PartReader.js';
import type { Sink } from './types.js';
import { indexDamaged } from './diagnostics/index.js';
import { ErrorCode, RastError } from './errors.js';

/** A run in the repository: each block fetched from a sink with a good copy, checked and untransformed when read. */
class StoredRun implements IndexRun {
  readonly backupId: string;
  readonly firsts: string[];
  readonly records: number;
  readonly mayHold?: IndexRun['mayHold'];
  constructor(
    private readonly manifest: ManifestHead,
    private readonly blocks: IndexBlock[],
    private readonly parts: PartReader,
    private readonly good?: CheckedRead,
  ) {
    this.backupId = manifest.id;
    this.firsts = blocks.map((block) => block.first);
    this.records = blocks.reduce((sum, block) => sum + block.records, 0);
    this.mayHold = blockNames(blocks, (message) => damaged(manifest, message));
  }

  /** Fetched, checked and decoded into memory from blockMemory (in place when the decoders can), given back by releaseBlock. */
  async readBlock(block: number): Promise<BlockRecords> {
    const label = `file index block ${block + 1} of ${this.blocks.length}`;
    const record = this.blocks[block]!;
    const memory = blockMemory.take(this.parts.partMemory(this.manifest, record).bytes);
    let given = false;
    try {
      const data = await this.parts.readPlain(this.manifest, record, label, this.good && ((sink) => this.good!(sink, record)), memory);
      // A block larger than its record says is not decoded into `memory`: it is left to V8.
      const inMemory = data.buffer === memory;
      const records = decodeBlock(
        data,
        (message) => damaged(this.manifest, `${label}: ${message}`),
        inMemory ? () => blockMemory.give(memory) : undefined,
      );
      given = inMemory;
      return records;
    } finally {
      if (!given) blockMemory.give(memory);
    }
  }

  releaseBlock(records: BlockRecords): void {
    releaseEncoded(records);
  }
}

/** Hears which sink's copy of an index object was read and found good (its size and SHA-256). */
export type CheckedRead = (sink: Sink, object: PartRecord) => void;

const damaged = (manifest: ManifestHead, message: string) => indexDamaged(manifest.id, message);

/** What a backup's index object holds once decoded. */
type IndexObject = { version: 1; view: IndexView } | { version: 2; header: IndexRunHeader; run: IndexRun };

/** A backup on a chain of heads chainHeads() gave or checkChild() extended: `line[depth]` is it, `line[0]` the full backup. */
interface Placed {
  line: ManifestHead[];
  depth: number;
}

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
    /** Backups whose chain was checked, by id, when kept: consecutive backups share one line (see place()). */
    private readonly placed?: Map<string, Promise<Placed>>,
    /** The depth of each backup placed, when kept. */
    private readonly depths?: Map<string, number>,
  ) {}

  /**
   * A store that reads each index object once (up to 1,024 kept), for one search over many backups (find). Not for
   * verify: it must read what it checks each time.
   */
  shared(): IndexStore {
    return new IndexStore(this.parts, this.graph, this.cache, new Map(), new Map(), new Map());
  }

  private object(manifest: ManifestHead, useKept = false, good?: CheckedRead): Promise<IndexObject> {
    if (useKept || good || !this.objects) return this.read(manifest, useKept, good);
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

  private async read(manifest: ManifestHead, useKept: boolean, good?: CheckedRead): Promise<IndexObject> {
    const kept = useKept ? await this.cache.load(manifest) : undefined;
    if (kept) {
      return 'header' in kept ? { version: 2, header: kept.header, run: kept } : { version: 1, view: IndexView.of(kept) };
    }
    const data = await this.parts.readPlain(manifest, manifest.index, 'file index', good && ((sink) => good(sink, manifest.index)));
    try {
      if (indexVersion(data) === 1) return { version: 1, view: IndexView.of(decodeFileIndex(data)) };
      const header = decodeRunHeader(data);
      if (header.backupId !== manifest.id) throw new Error(`it is the index of backup ${header.backupId}`);
      return { version: 2, header, run: new StoredRun(manifest, header.blocks, this.parts, good) };
    } catch (error) {
      throw damaged(manifest, `file index: ${(error as Error).message}`);
    }
  }

  /**
   * The backup's place on its checked chain of heads. A store that keeps places (shared()) checks a backup whose
   * parent it has placed by itself only, and puts it on its parent's line (at the line's end, else on a copy):
   * opening each backup of a chain of n costs n checks in all, not n²/2.
   */
  private place(manifest: ManifestHead): Promise<Placed> {
    const placed = this.placed;
    if (!placed) return this.graph.chainHeads(manifest).then((line) => ({ line, depth: line.length - 1 }));
    let placing = placed.get(manifest.id);
    if (!placing) {
      placing = this.placeOn(manifest, manifest.parent === null ? undefined : placed.get(manifest.parent));
      placed.set(manifest.id, placing);
      placing.catch(() => placed.delete(manifest.id));
    }
    return placing;
  }

  private async placeOn(manifest: ManifestHead, placingParent: Promise<Placed> | undefined): Promise<Placed> {
    const parent = await placingParent?.catch(() => undefined);
    if (!parent) {
      const line = await this.graph.chainHeads(manifest);
      // Its ancestors are placed on the same line.
      for (const [depth, head] of line.entries()) {
        this.depths!.set(head.id, depth);
        if (!this.placed!.has(head.id)) this.placed!.set(head.id, Promise.resolve({ line, depth }));
      }
      return { line, depth: line.length - 1 };
    }
    await this.graph.checkChild(parent.line[parent.depth]!, manifest);
    const line = parent.depth === parent.line.length - 1 ? parent.line : parent.line.slice(0, parent.depth + 1);
    line.push(manifest);
    this.depths!.set(manifest.id, parent.depth + 1);
    return { line, depth: parent.depth + 1 };
  }

  /** Where backup `id` is on `chain`'s line (below its backup), if it is. */
  private depthIn(chain: Placed, id: string): number | undefined {
    const known = this.depths?.get(id);
    if (known !== undefined) return known <= chain.depth && chain.line[known]!.id === id ? known : undefined;
    for (let depth = chain.depth; depth >= 0; depth--) if (chain.line[depth]!.id === id) return depth;
    return undefined;
  }

  /** The backup's file index; `good` hears each object of the backup's own index read from a sink (verify: not read again). */
  async open(manifest: ManifestHead, options: { kept?: boolean; good?: CheckedRead } = {}): Promise<IndexView> {
    const layers: IndexRun[] = [];
    let entries: number | undefined;
    let chain: Placed | undefined;
    for (let current: ManifestHead | undefined = manifest; current;) {
      const object = await this.object(current, options.kept, current === manifest ? options.good : undefined);
      if (object.version === 1) {
        layers.push(...object.view.layers);
        entries ??= object.view.entries;
        break;
      }
      layers.push(object.run);
      entries ??= object.header.entries;
      const over = object.header.over;
      if (over === null) {
        // A search places a backup whose run is whole too (its index needs no chain), so that its children are checked by themselves.
        if (current === manifest && manifest.parent !== null && this.placed) this.place(manifest).catch(() => {});
        break;
      }
      chain ??= await this.place(manifest);
      const depth = this.depthIn(chain, over);
      if (depth === undefined || depth >= this.depthIn(chain, current.id)!)
        throw damaged(manifest, `file index: it lies over the index of backup ${over}, which is not an ancestor of it`);
      current = chain.line[depth]!;
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

  /**
   * blocks(), or, when the repository's header cannot be read, those of this host's kept copy (a write-only host
   * holds one for each backup it made). Undefined when neither is there and only a key is missing (TRANSFORM_FAILED):
   * then indexBlocksListed() finds the blocks in a sink's listing.
   */
  async blocksOrKept(manifest: ManifestHead): Promise<IndexBlock[] | undefined> {
    try {
      return await this.blocks(manifest);
    } catch (error) {
      const kept = await this.cache.load(manifest);
      if (kept) return 'header' in kept ? kept.header.blocks : [];
      if (error instanceof RastError && error.code === ErrorCode.TRANSFORM_FAILED) return undefined;
      throw error;
    }
  }
}
