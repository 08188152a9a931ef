/** `backups/<id>.json`, or with `.…` after it (a temporary of a manifest whose write was cut short). */
const MANIFEST_ROOT = 'backups/';
const MANIFEST_KEY = new RegExp(`^${MANIFEST_ROOT}([^/]+)\\.json(\\..+)?$`);
const DATA_ROOT = 'data/';

/** Object keys inside every sink, and which backup a key belongs to. See docs/repository-format.md. */
export const RepositoryKeys = Object.freeze({
  manifestPrefix: MANIFEST_ROOT,
  manifest: (id: string) => `${MANIFEST_ROOT}${id}.json`,
  /** The manifest's detached OpenPGP signature, written before it (a leftover of `id` while no manifest is there). */
  signature: (id: string) => `${MANIFEST_ROOT}${id}.json.sig`,
  /**
   * The signature of a manifest being replaced (repair's re-sign), written before the new manifest and removed
   * once `signature` holds it too: whichever of the two verifies is the manifest's (see ManifestReplacement).
   */
  nextSignature: (id: string) => `${MANIFEST_ROOT}${id}.json.sig.next`,
  /** Temporaries of `id`'s manifest start with this. */
  manifestTemporaryPrefix: (id: string) => `${MANIFEST_ROOT}${id}.json.`,
  dataRoot: DATA_ROOT,
  dataPrefix: (id: string) => `${DATA_ROOT}${id}/`,
  part: (id: string, seq: number) => `${DATA_ROOT}${id}/${String(seq).padStart(6, '0')}.part`,
  index: (id: string) => `${DATA_ROOT}${id}/index`,
  /** Block `n` of a version 2 file index (see IndexRun). */
  indexBlock: (id: string, n: number) => `${DATA_ROOT}${id}/index.${String(n).padStart(6, '0')}`,
  /**
   * A file index that `repair` rebuilt where the stored bytes could not be made again (a new generation, so that
   * the manifest that points at the old one stays whole until the new manifest replaces it): `index-r<generation>`.
   */
  rebuiltIndex: (id: string, generation: string) => `${DATA_ROOT}${id}/index-r${generation}`,
  /** Block `n` of a rebuilt index. */
  rebuiltIndexBlock: (id: string, generation: string, n: number) => `${DATA_ROOT}${id}/index-r${generation}.${String(n).padStart(6, '0')}`,
  /** The backup id of a manifest key; undefined for any other key (a temporary included). */
  manifestOwner(key: string): string | undefined {
    const match = MANIFEST_KEY.exec(key);
    return match && match[2] === undefined ? match[1] : undefined;
  },
  /** The backup id a key of data, or of a manifest's temporary, belongs to; undefined for a manifest and any other key. */
  leftoverOwner(key: string): string | undefined {
    if (key.startsWith(DATA_ROOT)) return key.split('/')[1];
    const match = MANIFEST_KEY.exec(key);
    return match && match[2] !== undefined ? match[1] : undefined;
  },
});
