import { BACKUP_ID_PATTERN } from '../BackupId.js';
import type { Manifest } from '../Manifest.js';
import { RepositoryKeys } from '../RepositoryKeys.js';
import type { Runtime } from '../Runtime.js';
import { runOperation } from './lifecycle.js';
import { deleteKeys } from '../SinkKeys.js';
import { backupCommitted, backupDependedOn, backupNotFound, sinkFailed } from '../diagnostics/index.js';

/**
 * Removes a backup from every sink: the manifest first (the backup stops existing), then its data (and any
 * temporary of its manifest that a killed writer left).
 * Refuses while another backup depends on it. A delete cut short leaves only unlisted data behind.
 */
export async function deleteBackup(runtime: Runtime, reference: string): Promise<Manifest> {
  const { sinks } = runtime;
  const { catalog, graph } = runtime.repository;
  return runOperation(runtime, 'delete', { backupId: reference }, async (event) => {
    const { manifest } = await catalog.resolve(reference, { unauthenticated: true });
    event.backupId = manifest.id;
    const ancestors = await graph.ancestors(manifest);
    const all = await graph.dependents(manifest.id);
    // A dependent that is also an ancestor is a loop of parents (damage): none of it can be restored, so it holds nothing back.
    const looped = all.filter((dependent) => ancestors.has(dependent.id));
    if (looped.length > 0)
      runtime.log.warn(
        `backup ${manifest.id} is in a loop of parents with ${looped.map((dependent) => dependent.id).join(', ')} (none of them can be restored); deleting it anyway`,
      );
    const dependents = all.filter((dependent) => !ancestors.has(dependent.id));
    if (dependents.length > 0) {
      throw backupDependedOn(
        manifest.id,
        dependents.map((dependent) => dependent.id),
      );
    }
    for (const sink of sinks) {
      try {
        await sink.delete(RepositoryKeys.manifest(manifest.id));
        // Without its manifest, what is left of the backup is a leftover: remove it the way deleteLeftover does.
        await deleteKeys(sink, await catalog.leftoverKeys(sink, manifest.id));
      } catch (error) {
        throw sinkFailed(sink, `delete backup ${manifest.id}`, error, { advice: 'run delete again' });
      }
    }
    catalog.invalidate();
    await runtime.indexCache.remove(manifest.id);
    try {
      await runtime.pipeline.hooks.deleted.promise(manifest);
    } catch (error) {
      runtime.log.warn(`backup ${manifest.id} is deleted, but ${(error as Error).message}`);
    }
    return manifest;
  });
}

/**
 * Removes an unlisted backup id from every sink: the data an interrupted create or delete left
 * (`list --all`), and a manifest damaged in every sink that holds it (`list` shows it as damaged). Only for a
 * full id that no sink holds a readable manifest of; throws BACKUP_NOT_FOUND when no sink holds anything of it.
 */
export async function deleteLeftover(
  runtime: Runtime,
  id: string,
): Promise<{ id: string; objects: number; sinks: string[]; damagedManifest: boolean }> {
  const { sinks } = runtime;
  const { catalog, graph } = runtime.repository;
  return runOperation(runtime, 'delete', { backupId: id }, async () => {
    const notFound = () => backupNotFound(id, catalog.describeSinks());
    if (!BACKUP_ID_PATTERN.test(id)) throw notFound();
    if ((await catalog.entries()).some((entry) => entry.manifest.id === id)) {
      throw backupCommitted(id);
    }
    // A listed backup built on it (its manifest damaged, say) still needs its data: the recovery document can use it.
    const dependents = (await graph.dependents(id)).map((manifest) => manifest.id);
    if (dependents.length > 0) {
      throw backupDependedOn(id, dependents);
    }
    const damaged = (await catalog.damagedManifests()).filter((manifest) => manifest.id === id);
    let objects = 0;
    const holding: string[] = [];
    for (const sink of sinks) {
      try {
        const keys = await catalog.leftoverKeys(sink, id);
        const manifests = damaged.filter((manifest) => manifest.sink === sink.name).map((manifest) => manifest.key);
        if (keys.length + manifests.length === 0) continue;
        await deleteKeys(sink, keys);
        // The damaged manifest last: a delete cut short leaves it, so that list still shows what is left.
        await deleteKeys(sink, manifests);
        objects += keys.length + manifests.length;
        holding.push(sink.name);
      } catch (error) {
        throw sinkFailed(sink, `remove the leftover data of ${id}`, error, { advice: 'run delete again' });
      }
    }
    if (holding.length === 0) throw notFound();
    catalog.invalidate();
    return { id, objects, sinks: holding, damagedManifest: damaged.length > 0 };
  });
}
