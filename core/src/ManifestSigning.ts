import type { Catalog } from './Catalog.js';
import { manifestBytes, type Manifest } from './Manifest.js';
import type { ManifestSigner } from './types.js';

/** A manifest ready to commit: its final form, its bytes, and their detached signature when signing is on. */
export interface SignedManifest {
  manifest: Manifest;
  data: Buffer;
  signature?: Buffer;
}

/**
 * Signs a new manifest: it records the signer's key, and the unsigned backups from before signing that the
 * catalog still reads (so that they keep restoring once signed backups are beside them; see ManifestAuthentication).
 */
export async function signManifest(manifest: Manifest, signer: ManifestSigner | undefined, catalog: Catalog): Promise<SignedManifest> {
  if (!signer) return { manifest, data: manifestBytes(manifest) };
  const unsigned = (await catalog.entries())
    .filter((entry) => entry.authentication.status === 'unsigned')
    .map((entry) => entry.manifest.id);
  const signed: Manifest = {
    ...manifest,
    signer: { fingerprint: signer.fingerprint, publicKey: signer.publicKey },
    ...(unsigned.length > 0 ? { unsignedAccepted: unsigned } : {}),
  };
  const data = manifestBytes(signed);
  return { manifest: signed, data, signature: await signer.sign(data) };
}
