import { diffIndexes, type IndexDifference } from '../IndexDiff.js';
import type { Manifest } from '../Manifest.js';
import type { Runtime } from '../Runtime.js';
import { differentSources } from '../diagnostics/index.js';

export interface DiffOptions {
  /** The backup compared from: id, unique prefix or `latest`. */
  before: string;
  /** The backup compared to. */
  after: string;
}

export interface BackupDiff {
  before: Manifest;
  after: Manifest;
  /** The paths that differ, in index order, read from both indexes as they are iterated. */
  differences: AsyncGenerator<IndexDifference>;
}

/** What changed from one backup to another of the same source (`rast-backup diff`), from their file indexes alone. */
export async function diffBackups(runtime: Runtime, options: DiffOptions): Promise<BackupDiff> {
  const { catalog, graph, indexes } = runtime.repository;
  const [{ manifest: before }, { manifest: after }] = [await catalog.resolve(options.before), await catalog.resolve(options.after)];
  if (before.source.path !== after.source.path)
    throw differentSources({ id: before.id, path: before.source.path }, { id: after.id, path: after.source.path });
  const ids = async (manifest: Manifest) => new Set((await graph.chain(manifest)).map((backup) => backup.id));
  const chains = { before: await ids(before), after: await ids(after) };
  const [was, is] = [await indexes.open(before), await indexes.open(after)];
  return { before, after, differences: diffIndexes(was, is, chains) };
}
