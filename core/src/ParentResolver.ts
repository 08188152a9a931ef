import type { CatalogEntry } from './Catalog.js';
import { ErrorCode, RastError } from './errors.js';
import { displayPath } from './IndexPath.js';
import type { Manifest } from './Manifest.js';
import type { Runtime } from './Runtime.js';
import { emptyArgument, parentDeletedDuringCreate, parentUnusable } from './diagnostics/index.js';

/** The parent of an incremental create: which backup it is, and whether it is still there at the commit. */
export class ParentResolver {
  constructor(private readonly runtime: Runtime) {}

  /**
   * `reference` (`--parent`: an id, a unique prefix or `latest`) as the parent of a backup of `sourcePath`;
   * undefined means a full backup. `latest` falls back to a full backup (with a warning) when the source has
   * no backup yet or its chain is broken, and the `parent` hook may turn it into one; an explicit id must be a
   * backup of the same source with a whole chain (PARENT_INVALID).
   */
  async resolve(reference: string, sourcePath: string): Promise<Manifest | undefined> {
    const { repository, log, pipeline } = this.runtime;
    if (reference.trim() === '')
      throw emptyArgument('--parent', reference, 'give a backup id, a unique prefix of one, or latest', { reference });
    if (reference === 'latest') {
      const entries = await repository.catalog.entries();
      const latest = entries.filter((entry) => entry.head.source.path === sourcePath).at(-1);
      if (!latest) {
        // So that one timer line (`create / --parent latest`) starts its chain by itself.
        log.warn(`--parent latest: no earlier backup of ${displayPath(sourcePath)}; making a full backup`);
        return undefined;
      }
      // An incremental on a broken chain could never be restored: start a new one.
      const broken = await this.brokenChain(latest);
      if (broken) {
        log.warn(`--parent latest: ${broken}; making a full backup`);
        return undefined;
      }
      // Plugins may start a new full backup instead (null), e.g. retention's full_every.
      return (
        (await pipeline.hooks.parent.promise(latest.manifest, {
          path: sourcePath,
          chain: () => repository.graph.chain(latest.manifest),
        })) ?? undefined
      );
    }
    const entry = await repository.catalog.resolve(reference);
    const { manifest } = entry;
    if (manifest.source.path !== sourcePath) {
      throw parentUnusable(
        reference,
        manifest.id,
        `backup ${manifest.id} is of ${displayPath(manifest.source.path)}, not ${displayPath(sourcePath)}`,
      );
    }
    const broken = await this.brokenChain(entry);
    if (broken) throw parentUnusable(reference, manifest.id, `${broken}: make a full backup`);
    return manifest;
  }

  /**
   * A delete or prune may have removed the parent while backup `id` was being made (nothing holds it); an
   * incremental committed on a missing parent could never be restored, so it is not committed (PARENT_INVALID).
   */
  async checkStillExists(parent: Manifest, id: string): Promise<void> {
    const { catalog } = this.runtime.repository;
    catalog.invalidate();
    if ((await catalog.entry(parent.id)) !== undefined) return;
    throw parentDeletedDuringCreate(parent.id, id);
  }

  /**
   * Why the chain of `entry` cannot be restored (a parent missing, a loop, one refused), or undefined when it is
   * whole. Its heads only: reading every whole manifest of the chain made each create cost more as the chain grew.
   */
  private async brokenChain(entry: CatalogEntry): Promise<string | undefined> {
    try {
      await this.runtime.repository.graph.chainHeads(entry.head);
      return undefined;
    } catch (error) {
      if (error instanceof RastError && error.code === ErrorCode.PARENT_INVALID) return error.message;
      throw error;
    }
  }
}
