import type { CatalogEntry } from './Catalog.js';
import type { Authentication } from './ManifestAuthentication.js';

/** What `list --json` prints for each backup (the CLI contract in docs/cli.md). */
export interface BackupSummary {
  id: string;
  /**
   * `complete` for committed backups, `unauthenticated` for those whose signature is bad, by a key the config
   * does not trust, or missing where it is needed (`list` adds `damaged` manifests, `list --all` `incomplete` leftovers).
   */
  status: 'complete' | 'unauthenticated';
  /** `signed` (by a trusted key), `unsigned` (from before signing), `unchecked` (signing is off), `refused`. */
  signature: Authentication['status'];
  /** The fingerprint of the key that signed it, when signed. */
  signer: string | null;
  /** Why it is refused, when it is. */
  problem?: string;
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
  /** Configured sinks (that could be read) lacking it: `sync` copies it into them. */
  behind: string[];
  parts: number;
  files: number;
}

/** `sinks`: the configured sinks that could be read, to tell which are behind (none when not given). */
export function summarize(entry: CatalogEntry, sinks: string[] = entry.sinks): BackupSummary {
  const { head: manifest, authentication } = entry;
  return {
    id: manifest.id,
    status: authentication.status === 'refused' ? 'unauthenticated' : 'complete',
    signature: authentication.status,
    signer: authentication.status === 'signed' ? authentication.signer : null,
    ...(authentication.status === 'refused' ? { problem: authentication.problem } : {}),
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
    behind: sinks.filter((sink) => !entry.sinks.includes(sink)),
    parts: entry.parts,
    files: manifest.index.entries,
  };
}
