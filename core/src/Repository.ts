import { createHash } from 'node:crypto';
import { BackupGraph } from './BackupGraph.js';
import { Catalog } from './Catalog.js';
import { IndexCache } from './IndexCache.js';
import { IndexStore } from './IndexStore.js';
import { ManifestCache } from './ManifestCache.js';
import { PartReader } from './PartReader.js';
import type { Logger, ManifestVerifier, Sink, TransformDecoder } from './types.js';

/**
 * The repository format over every configured sink, as four views: the `catalog` of what the sinks hold
 * (manifests are the commit points), the `graph` of incrementals on their parents, the `parts` reader
 * that fetches each object from whichever sink has a good copy and untransforms it, and the file `indexes`.
 */
export class Repository {
  readonly catalog: Catalog;
  readonly graph: BackupGraph;
  readonly parts: PartReader;
  readonly indexes: IndexStore;

  constructor(
    readonly sinks: Sink[],
    decoderFor: (name: string) => TransformDecoder | undefined,
    log: Logger,
    /** Parts fetched and decoded ahead of the one being read (`[backup] concurrency`). */
    readAhead = 2,
    /** This host's copies of manifests already read (see ManifestCache); none by default. */
    manifestCache = new ManifestCache(undefined),
    /** This host's copies of the file indexes it wrote (see IndexCache); none by default. */
    indexCache = new IndexCache(undefined),
    /** The signature checker when signing is on (the `verifier` hook); none by default. */
    verifier: () => Promise<ManifestVerifier | undefined> = async () => undefined,
  ) {
    this.catalog = new Catalog(sinks, log, manifestCache, verifier);
    this.graph = new BackupGraph(this.catalog);
    this.parts = new PartReader(sinks, decoderFor, log, readAhead);
    this.indexes = new IndexStore(this.parts, this.graph, indexCache);
  }

  /**
   * Names this repository to plugins that keep state per repository (the btrfs source keeps the parent
   * snapshot of each repository's next incremental): 16 hex digits of the SHA-256 of its sinks' locations.
   */
  get id(): string {
    const locations = this.sinks.map((sink) => sink.location).sort();
    return createHash('sha256').update(locations.join('\n')).digest('hex').slice(0, 16);
  }
}
