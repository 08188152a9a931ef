import type { CatalogEntry } from './Catalog.js';

/** What `list --json` prints for each backup (the CLI contract in docs/cli.md). */
export interface BackupSummary {
  id: string;
  /** `complete` for committed backups (`list --all` adds `incomplete` leftovers). */
  status: 'complete';
  name: string | null;
  tags: string[];
  parent: string | null;
  created: string;
  /** The host that made it. */
  host: string;
  source: string;
  format: string;
  size: number;
  storedSize: number;
  sinks: string[];
  parts: number;
  files: number;
}

export function summarize(entry: CatalogEntry): BackupSummary {
  const { manifest } = entry;
  return {
    id: manifest.id,
    status: 'complete',
    name: manifest.name,
    tags: manifest.tags,
    parent: manifest.parent,
    created: manifest.created,
    host: manifest.host,
    source: manifest.source.path,
    format: manifest.serializer.format,
    size: manifest.size,
    storedSize: manifest.storedSize,
    sinks: entry.sinks,
    parts: manifest.parts.length,
    files: manifest.index.entries,
  };
}
