import type { Catalog } from './Catalog.js';
import type { Manifest } from './Manifest.js';
import type { ManifestHead } from './ManifestHead.js';
import { chainLoops, dependentsUnknown, parentMissing } from './diagnostics/index.js';

/** A backup as far as the graph is concerned (a manifest, or retention's candidate). */
export interface Linked {
  id: string;
  /** Full id of the parent backup, or null for a full backup. */
  parent: string | null;
}

/** Where a walk up the parents ended: at a full backup, at a parent not there, or at a loop (a parent already passed). */
export type WalkEnd = { at: 'full' } | { at: 'missing'; id: string } | { at: 'loop'; id: string };

/** Follows the parents up from `start` through `byId`: those found, nearest first, and where the walk ended. */
export function walkParents<T extends Linked>(start: T, byId: ReadonlyMap<string, T>): { parents: T[]; end: WalkEnd } {
  const parents: T[] = [];
  const seen = new Set([start.id]);
  for (let parent = start.parent; parent !== null;) {
    if (seen.has(parent)) return { parents, end: { at: 'loop', id: parent } };
    const found = byId.get(parent);
    if (!found) return { parents, end: { at: 'missing', id: parent } };
    seen.add(parent);
    parents.push(found);
    parent = found.parent;
  }
  return { parents, end: { at: 'full' } };
}

/**
 * The backups as a graph of incrementals on their parents, over the catalog: with `walkParents`, the only
 * code that follows `parent` links. Restore and create read chains; delete and verify ask who depends on whom.
 */
export class BackupGraph {
  constructor(private readonly catalog: Catalog) {}

  /** The catalog's backups by id, made once per catalog read (a command walks many chains). */
  private byId?: { of: ManifestHead[]; map: Map<string, ManifestHead> };

  /**
   * The backups a restore of `manifest` needs, from the full backup to `manifest`, oldest first; PARENT_INVALID
   * when a parent is missing or the parents loop, BACKUP_UNAUTHENTICATED when one of them is refused.
   */
  async chain(manifest: ManifestHead): Promise<Manifest[]> {
    const heads = await this.chainHeads(manifest);
    const last = heads.pop()!;
    const manifests: Manifest[] = [];
    for (const head of heads) manifests.push((await this.catalog.entry(head.id))!.manifest);
    // The backup asked for as given, when it is whole (a manifest not yet in the catalog: create's).
    manifests.push('parts' in last ? (last as Manifest) : ((await this.catalog.entry(last.id))?.manifest ?? fail(last.id)));
    return manifests;
  }

  /** As chain(), the heads of the manifests only (what opening a file index needs). */
  async chainHeads(manifest: ManifestHead): Promise<ManifestHead[]> {
    const { parents, end } = await this.walk(manifest);
    if (end.at === 'loop') throw chainLoops(manifest.id, end.id);
    if (end.at === 'missing') {
      const damaged = (await this.catalog.damagedManifests()).filter((candidate) => candidate.id === end.id);
      const where =
        damaged.length > 0
          ? `whose manifest is damaged in ${damaged.map((candidate) => `sink ${candidate.sink} (${candidate.problem})`).join(', ')}`
          : `which is in no sink (${this.catalog.describeSinks()})`;
      throw parentMissing(manifest.id, end.id, where);
    }
    const chain = [...parents.reverse(), manifest];
    await this.catalog.checkAuthenticated(chain);
    return chain;
  }

  /**
   * What chainHeads() checks of a backup whose parent's chain it has given already: the backup itself
   * (authenticated). Walking a chain backup by backup so costs one check each, not the whole chain each.
   */
  async checkChild(parent: ManifestHead, manifest: ManifestHead): Promise<void> {
    if (manifest.parent !== parent.id) throw new Error(`backup ${manifest.id} is not a child of backup ${parent.id}`);
    await this.catalog.checkAuthenticated([manifest]);
  }

  /** Ids of the backups above `manifest` on its chain of parents, as far as the catalog has them; a loop ends it (and may hold `manifest` itself). */
  async ancestors(manifest: ManifestHead): Promise<Set<string>> {
    const { parents, end } = await this.walk(manifest);
    const ids = new Set(parents.map((parent) => parent.id));
    if (end.at !== 'full') ids.add(end.id);
    return ids;
  }

  /** Backups whose parent is `id`. Throws when a sink could not be read: a backup there might depend on `id`. */
  async dependents(id: string): Promise<ManifestHead[]> {
    const manifests = await this.manifests();
    const unreadable = await this.catalog.unreadable();
    if (unreadable.length > 0) {
      const { sink, error } = unreadable[0]!;
      throw dependentsUnknown(id, sink.name, error.message);
    }
    return manifests.filter((manifest) => manifest.parent === id);
  }

  /** Every backup whose chain holds one of `ids`, except those ids, oldest first (what a restore of each would read of them). */
  async descendants(ids: string[]): Promise<string[]> {
    const manifests = await this.manifests();
    const children = new Map<string, string[]>();
    for (const manifest of manifests) {
      if (manifest.parent !== null) children.set(manifest.parent, [...(children.get(manifest.parent) ?? []), manifest.id]);
    }
    const found = new Set<string>();
    const pending = [...ids];
    while (pending.length > 0) {
      for (const child of children.get(pending.pop()!) ?? []) {
        if (found.has(child) || ids.includes(child)) continue;
        found.add(child);
        pending.push(child);
      }
    }
    return manifests.map((manifest) => manifest.id).filter((id) => found.has(id));
  }

  private async manifests(): Promise<ManifestHead[]> {
    return this.catalog.heads();
  }

  /** Follows the parents up from `manifest` through the catalog. */
  private async walk(manifest: ManifestHead): Promise<{ parents: ManifestHead[]; end: WalkEnd }> {
    const manifests = await this.manifests();
    if (this.byId?.of !== manifests) this.byId = { of: manifests, map: new Map(manifests.map((candidate) => [candidate.id, candidate])) };
    return walkParents(manifest, this.byId.map);
  }
}

function fail(id: string): never {
  throw new Error(`backup ${id} is not in the catalog`);
}
