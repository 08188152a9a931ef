import { walkParents } from '../BackupGraph.js';
import type { CatalogEntry } from '../Catalog.js';
import type { ManifestHead } from '../ManifestHead.js';
import type { Runtime } from '../Runtime.js';

/** A backup at either end of a group, by creation time. */
export interface BackupMoment {
  id: string;
  created: string;
}

/** What a set of backups (one sink's, one source's, all of them) adds up to. */
export interface BackupTotals {
  backups: number;
  /** Plaintext bytes of their streams (an incremental counts what it adds, not the whole tree). */
  size: number;
  /** Bytes stored: for a sink, what it holds; for a source, one copy of each backup; in `total`, every copy in every sink. */
  storedSize: number;
  /** Full backups: each starts a chain. */
  chains: number;
  /** The most backups one restore reads: the longest chain of parents, full backup included. */
  longestChain: number;
  /** Backups whose chain is not whole here (a parent missing, or parents that loop): they cannot be restored from it. */
  brokenChains: number;
  oldest: BackupMoment | null;
  newest: BackupMoment | null;
}

export interface SinkStats extends BackupTotals {
  sink: string;
  location: string;
  /** Backups with a damaged manifest here and a good one in no sink (`list` shows them as damaged; not counted above). */
  damaged: number;
  /** Why the sink could not be listed (its backups are then unknown and counted nowhere), else null. */
  unreadable: string | null;
}

export interface SourceStats extends BackupTotals {
  host: string;
  source: string;
  formats: string[];
  /** Backups a restore of the newest backup reads (its chain's length). */
  newestChain: number;
}

/** `rast-backup stats`: per sink, per host and source, and in total. */
export interface RepositoryStats {
  sinks: SinkStats[];
  sources: SourceStats[];
  total: BackupTotals;
}

const byCreation = (a: ManifestHead, b: ManifestHead) =>
  a.created < b.created ? -1 : a.created > b.created ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;

/** Chain lengths measured over `scope` (the backups a restore could read there): the length for each id, and whether the chain is whole. */
function chainLengths(scope: ManifestHead[]): Map<string, { length: number; whole: boolean }> {
  const byId = new Map(scope.map((manifest) => [manifest.id, manifest]));
  return new Map(
    scope.map((manifest) => {
      const { parents, end } = walkParents(manifest, byId);
      return [manifest.id, { length: parents.length + 1, whole: end.at === 'full' }];
    }),
  );
}

function totals(members: ManifestHead[], chainsOver: ManifestHead[], storedSize: number): BackupTotals {
  const ordered = [...members].sort(byCreation);
  const lengths = chainLengths(chainsOver);
  const chains = ordered.map((manifest) => lengths.get(manifest.id)!);
  const moment = (manifest: ManifestHead | undefined) => (manifest ? { id: manifest.id, created: manifest.created } : null);
  return {
    backups: ordered.length,
    size: ordered.reduce((sum, manifest) => sum + manifest.size, 0),
    storedSize,
    chains: ordered.filter((manifest) => manifest.parent === null).length,
    longestChain: chains.reduce((longest, chain) => Math.max(longest, chain.length), 0),
    brokenChains: chains.filter((chain) => !chain.whole).length,
    oldest: moment(ordered[0]),
    newest: moment(ordered.at(-1)),
  };
}

const stored = (manifests: ManifestHead[]) => manifests.reduce((sum, manifest) => sum + manifest.storedSize, 0);

/** Adds up the catalog (the manifests of every sink); reads no part and no index. */
export function statsOf(
  entries: CatalogEntry[],
  sinks: Array<{ name: string; location: string }>,
  problems: SinkProblems = {},
): RepositoryStats {
  const all = entries.map((entry) => entry.head);
  const sinkStats = sinks.map((sink): SinkStats => {
    const held = entries.filter((entry) => entry.sinks.includes(sink.name)).map((entry) => entry.head);
    return {
      sink: sink.name,
      location: sink.location,
      ...totals(held, held, stored(held)),
      damaged: problems.damaged?.get(sink.name) ?? 0,
      unreadable: problems.unreadable?.get(sink.name) ?? null,
    };
  });

  const groups = new Map<string, ManifestHead[]>();
  for (const manifest of all) {
    const key = JSON.stringify([manifest.host, manifest.source.path]);
    groups.set(key, [...(groups.get(key) ?? []), manifest]);
  }
  const lengths = chainLengths(all);
  const sources = [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, members]): SourceStats => {
      const newest = [...members].sort(byCreation).at(-1)!;
      return {
        host: newest.host,
        source: newest.source.path,
        formats: [...new Set(members.map((manifest) => manifest.serializer.format))].sort(),
        ...totals(members, all, stored(members)),
        newestChain: lengths.get(newest.id)!.length,
      };
    });

  const copies = entries.reduce((sum, entry) => sum + entry.head.storedSize * entry.sinks.length, 0);
  return { sinks: sinkStats, sources, total: totals(all, all, copies) };
}

/** Per sink: damaged manifests, and why a sink could not be listed. */
export interface SinkProblems {
  damaged?: Map<string, number>;
  unreadable?: Map<string, string>;
}

/** `rast-backup stats`: what the repository holds, per sink and per source, from the catalog alone. */
export async function repositoryStats(runtime: Runtime): Promise<RepositoryStats> {
  const { catalog } = runtime.repository;
  const entries = await catalog.entries();
  const damaged = new Map<string, number>();
  for (const manifest of await catalog.damagedManifests()) damaged.set(manifest.sink, (damaged.get(manifest.sink) ?? 0) + 1);
  const unreadable = new Map((await catalog.unreadable()).map(({ sink, error }) => [sink.name, error.message]));
  return statsOf(
    entries,
    runtime.sinks.map((sink) => ({ name: sink.name, location: sink.location })),
    { damaged, unreadable },
  );
}
