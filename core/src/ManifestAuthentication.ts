import { ErrorCode, RastError } from './errors.js';
import type { Manifest } from './Manifest.js';
import { RepositoryKeys } from './RepositoryKeys.js';
import type { ManifestVerifier, Sink } from './types.js';
import { manifestUnauthenticated } from './diagnostics/index.js';

/** What a manifest's signature proved when it was read (kept in the host's manifest cache; trust is judged on use). */
export type SignatureCheck =
  /** A good signature by this key (primary fingerprint), trusted or not. */
  | { signer: string }
  /** No signature beside the manifest. */
  | { unsigned: true }
  /** A signature that does not verify. */
  | { problem: string };

/** Whether a backup may be read, as the catalog judges it over the whole repository. */
export type Authentication =
  /** A good signature by a trusted key. */
  | { status: 'signed'; signer: string }
  /** Unsigned, made before signing was on: read with a warning. */
  | { status: 'unsigned' }
  /** Signing is off in this config: nothing was checked. */
  | { status: 'unchecked' }
  /** Refused: restore, verify, ls and info name it and stop. */
  | { status: 'refused'; problem: string };

/** Reads `id`'s detached signature from `sink` and checks it over the manifest's stored bytes. */
export async function checkSignature(verifier: ManifestVerifier, sink: Sink, manifest: Manifest, data: Buffer): Promise<SignatureCheck> {
  let signature: Buffer;
  try {
    signature = await sink.get(RepositoryKeys.signature(manifest.id));
  } catch (error) {
    if (error instanceof RastError && error.code === ErrorCode.PART_MISSING) return { unsigned: true };
    throw error;
  }
  if (!manifest.signer) return { problem: 'its manifest names no signer (signer.publicKey) to check the signature with' };
  try {
    return { signer: await verifier.check(data, signature, manifest) };
  } catch (error) {
    return { problem: `its signature does not verify: ${(error as Error).message}` };
  }
}

/**
 * Judges every backup of a repository from its signature check. A good signature counts only from a key the
 * config trusts. An unsigned backup is read (with a warning) only when no backup of the repository is signed
 * by a trusted key (a repository from before signing) or a signed one vouches for it (`unsignedAccepted`):
 * an unsigned manifest put beside signed ones, or a signature removed, is refused.
 */
export function authenticate(
  verifier: ManifestVerifier | undefined,
  backups: Array<{ manifest: Manifest; signature?: SignatureCheck }>,
): Authentication[] {
  if (!verifier) return backups.map(() => ({ status: 'unchecked' }));
  const judged = backups.map(({ manifest, signature }): Authentication | undefined => {
    if (!signature || 'unsigned' in signature) return undefined;
    if ('problem' in signature) return { status: 'refused', problem: `backup ${manifest.id} is refused: ${signature.problem}` };
    const distrust = verifier.distrust(signature.signer);
    if (distrust) return { status: 'refused', problem: `backup ${manifest.id} is refused: ${distrust}` };
    return { status: 'signed', signer: signature.signer };
  });
  const signed = backups.filter((_, index) => judged[index]?.status === 'signed');
  const vouched = new Set(signed.flatMap(({ manifest }) => manifest.unsignedAccepted ?? []));
  return backups.map(({ manifest }, index) => {
    const known = judged[index];
    if (known) return known;
    if (signed.length === 0 || vouched.has(manifest.id)) return { status: 'unsigned' };
    return {
      status: 'refused',
      problem: `backup ${manifest.id} is refused: its manifest is unsigned, and no signed backup of this repository vouches for it as made before signing (its signature was removed, or it was put there by someone without the signing key)`,
    };
  });
}

/** The error for a backup the catalog refused. */
export function unauthenticated(id: string, authentication: Authentication): RastError | undefined {
  if (authentication.status !== 'refused') return undefined;
  return manifestUnauthenticated(id, authentication.problem);
}
