import type { BackupGraph } from './BackupGraph.js';
import type { BlockRecords } from './BlockRecords.js';
import { ErrorCode, RastError } from './errors.js';
import { decodeFileIndex } from './FileIndex.js';
import type { IndexCache } from './IndexCache.js';
import {
  decodeBlock,
  decodeRunHeader,
  indexVersion,
  type IndexBlock,
  type IndexRecord,
  type IndexRun,
  type IndexRunHeader,
} from './IndexRun.js';
import { IndexView } from './IndexView.js';
import type { Manifest } from './Manifest.js';
import type { PartReader } from './PartReader.js';
import type { Logger } from './types.js';

/** A run in the repository: each block fetched from a sink with a good copy, checked and untransformed when read. */
class StoredRun implements IndexRun {
  readonly backupId: string;
  readonly firsts: string[];
  constructor(
    private readonly manifest: Manifest,
    private readonly blocks: IndexBlock[],
    private readonly parts: PartReader,
  ) {
    this.backupId = manifest.id;
    this.firsts = blocks.map((block) => block.first);
  }

  async readBlock(block: number): Promise<BlockRecords> {
    const label = `file index block ${block + 1} of ${this.blocks.length}`;
    const data = await this.parts.readPlain(this.manifest, this.blocks[block]!, label);
    return decodeBlock(data, (message) => damaged(this.manifest, `${label}: ${message}`));
  }
}

const damaged = (manifest: Manifest, message: string) =>
  new RastError(ErrorCode.PART_DAMAGED, `backup ${manifest.id}, ${message}`, { backup: manifest.id });

/** What a backup's index object holds once decoded. */
type IndexObject = { version: 1; view: IndexView } | { version: 2; header: IndexRunHeader; run: IndexRun };

/**
 * Opens backups' file indexes as views over their runs (see IndexView): the index object of the backup, then
 * those of the backups it lies over. With `kept`, a host that cannot decode an index (a write-only host holds
 * only the encryption public key: create reads its parent's index) uses the copy it kept when it made the
 * backup, if it has one.
 */
export class IndexStore {
  constructor(
    private readonly parts: PartReader,
    private readonly graph: BackupGraph,
    private readonly cache: IndexCache,
    private readonly log: Logger,
  ) {}

  private async object(manifest: Manifest, useKept = false): Promise<IndexObject> {
    let data: Buffer;
    try {
      data = await this.parts.readPlain(manifest, manifest.index, 'file index');
    } catch (error) {
      if (!useKept || !(error instanceof RastError) || error.code !== ErrorCode.TRANSFORM_FAILED) throw error;
      const kept = await this.cache.load(manifest);
      if (!kept) throw error;
      this.log.info(`backup ${manifest.id}: using this host's copy of its file index (${error.message})`);
      return 'header' in kept ? { version: 2, header: kept.header, run: kept } : { version: 1, view: IndexView.of(kept) };
    }
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
  async open(manifest: Manifest, options: { kept?: boolean } = {}): Promise<IndexView> {
    const layers: IndexRun[] = [];
    let entries: number | undefined;
    let chain: Manifest[] | undefined;
    for (let current: Manifest | undefined = manifest; current;) {
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
      chain ??= await this.graph.chain(manifest);
      const position = chain.findIndex((candidate) => candidate.id === over);
      const below = chain[position];
      if (!below || position >= chain.findIndex((candidate) => candidate.id === current!.id))
        throw damaged(manifest, `file index: it lies over the index of backup ${over}, which is not an ancestor of it`);
      current = below;
    }
    return new IndexView(manifest.id, layers, entries ?? 0);
  }

  /** The header of the backup's own run; undefined for a version 1 index. */
  async header(manifest: Manifest): Promise<IndexRunHeader | undefined> {
    const object = await this.object(manifest);
    return object.version === 2 ? object.header : undefined;
  }

  /** The blocks of the backup's own run (none for a version 1 index), for checks of what it stored. */
  async blocks(manifest: Manifest): Promise<IndexBlock[]> {
    const object = await this.object(manifest);
    return object.version === 2 ? object.header.blocks : [];
  }
}
