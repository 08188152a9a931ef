import type { Manifest } from './Manifest.js';

/**
 * What the catalog keeps of a manifest: all that list, latest, the chain lookups, find and stats read, and
 * what opening the backup's file index needs (its transforms and index record). Not its part list, plugin
 * versions, source details or the signer's public key: those come with the whole manifest (CatalogEntry.manifest).
 * A Manifest is a ManifestHead.
 */
export type ManifestHead = Omit<Manifest, 'parts' | 'plugins' | 'signer' | 'source'> & {
  source: { path: string; kind: string; atomic: boolean };
  signer?: { fingerprint: string };
};

/** The head of a manifest. */
export function headOf(manifest: Manifest): ManifestHead {
  const head: ManifestHead = {
    format: manifest.format,
    version: manifest.version,
    id: manifest.id,
    name: manifest.name,
    tags: manifest.tags,
    created: manifest.created,
    host: manifest.host,
    parent: manifest.parent,
    source: { path: manifest.source.path, kind: manifest.source.kind, atomic: manifest.source.atomic },
    serializer: manifest.serializer,
    transforms: manifest.transforms,
    partSize: manifest.partSize,
    index: manifest.index,
    size: manifest.size,
    storedSize: manifest.storedSize,
  };
  if (manifest.signer) head.signer = { fingerprint: manifest.signer.fingerprint };
  if (manifest.unsignedAccepted) head.unsignedAccepted = manifest.unsignedAccepted;
  if (manifest.exclude) head.exclude = manifest.exclude;
  return head;
}
