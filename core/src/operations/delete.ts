import { ErrorCode, RastError } from '../errors.js';
import type { Manifest } from '../Manifest.js';
import { RepositoryKeys } from '../Repository.js';
import type { Runtime } from '../Runtime.js';
import { runOperation } from './lifecycle.js';

/**
 * Removes a backup from every sink: the manifest first (the backup stops existing), then its data.
 * Refuses while another backup depends on it. A delete cut short leaves only unlisted data behind.
 */
export async function deleteBackup(runtime: Runtime, reference: string): Promise<Manifest> {
  const { repository, sinks } = runtime;
  return runOperation(runtime, 'delete', { backupId: reference }, async (event) => {
    const { manifest } = await repository.resolve(reference);
    event.backupId = manifest.id;
    const ancestors = await ancestorsOf(runtime, manifest);
    const all = await repository.dependents(manifest.id);
    // A dependent that is also an ancestor is a loop of parents (damage): none of it can be restored, so it holds nothing back.
    const looped = all.filter((dependent) => ancestors.has(dependent.id));
    if (looped.length > 0) runtime.log.warn(`backup ${manifest.id} is in a loop of parents with ${looped.map((dependent) => dependent.id).join(', ')} (none of them can be restored); deleting it anyway`);
    const dependents = all.filter((dependent) => !ancestors.has(dependent.id));
    if (dependents.length > 0) {
      throw new RastError(
        ErrorCode.BACKUP_DEPENDED_ON,
        `backup ${manifest.id} is the parent of ${dependents.map((dependent) => dependent.id).join(', ')}: delete those first`,
        { backup: manifest.id, dependents: dependents.map((dependent) => dependent.id) },
      );
    }
    for (const sink of sinks) {
      try {
        await sink.delete(RepositoryKeys.manifest(manifest.id));
        const keys: string[] = [];
        for await (const object of sink.list(RepositoryKeys.dataPrefix(manifest.id))) keys.push(object.key);
        if (sink.deleteMany) await sink.deleteMany(keys);
        else for (const key of keys) await sink.delete(key);
      } catch (error) {
        throw new RastError(ErrorCode.SINK_FAILED, `sink ${sink.name} (${sink.location}): deleting backup ${manifest.id} failed: ${(error as Error).message}; run delete again`, { sink: sink.name });
      }
    }
    repository.invalidate();
    await runtime.indexCache.remove(manifest.id);
    try {
      await runtime.pipeline.hooks.deleted.promise(manifest);
    } catch (error) {
      runtime.log.warn(`backup ${manifest.id} is deleted, but ${(error as Error).message}`);
    }
    return manifest;
  });
}

/** Ids of the backups on the chain of parents above `manifest`, as far as the catalog has them (loops end it). */
async function ancestorsOf(runtime: Runtime, manifest: Manifest): Promise<Set<string>> {
  const byId = new Map((await runtime.repository.catalog()).map((entry) => [entry.manifest.id, entry.manifest]));
  const ancestors = new Set<string>();
  for (let parent = manifest.parent; parent !== null && !ancestors.has(parent); parent = byId.get(parent)?.parent ?? null) ancestors.add(parent);
  return ancestors;
}
