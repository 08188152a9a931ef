import type { CatalogEntry } from '../Catalog.js';
import type { IndexView } from '../IndexView.js';
import type { Manifest } from '../Manifest.js';
import type { Runtime } from '../Runtime.js';

export interface InfoOptions {
  /** Id, unique prefix or `latest`. */
  backup: string;
  /** Read the backup's file index too. */
  files?: boolean;
}

/** One backup in detail: its catalog entry, its chain (full backup first), what plugins tell of it, and its files when asked. */
export interface BackupInfo {
  entry: CatalogEntry;
  chain: Manifest[];
  /** From the `describe` hook (e.g. whether a local snapshot still exists). */
  facts: Record<string, string>;
  /** The file index, read block by block as its entries are iterated. */
  index?: IndexView;
}

/** Describes one backup (`rast-backup info`); reads nothing but its manifests, and its index with `files`. */
export async function describeBackup(runtime: Runtime, options: InfoOptions): Promise<BackupInfo> {
  const { catalog, graph, indexes } = runtime.repository;
  const entry = await catalog.resolve(options.backup);
  const chain = await graph.chain(entry.manifest);
  const index = options.files ? await indexes.open(entry.manifest) : undefined;
  const facts = await runtime.pipeline.hooks.describe.promise({}, entry.manifest);
  return { entry, chain, facts, index };
}
