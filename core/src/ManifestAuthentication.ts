import { RastError } from './errors.js';
import { getOptional } from './SinkKeys.js';
import type { Manifest } from './Manifest.js';
import type { ManifestHead } from './ManifestHead.js';
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
  return (await readSignature(verifier, sink, manifest, data)).check;
}

/** A manifest's signature as one sink holds it: its check, and the bytes that verify (when one does). */
export interface StoredSignature {
  check: SignatureCheck;
  /** The signature that verifies: `.sig`, or `.sig.next` when a replacement of the manifest was cut short. */
  signature?: Buffer;
  /** Whether the sink holds a `.sig.next` (a replacement cut short, or one under way). */
  pending: boolean;
}

/**
 * Reads `id`'s detached signature from `sink` and checks it over the manifest's stored bytes: `.sig`, else
 * `.sig.next` (read only when `.sig` is absent or does not verify). A signature that verifies over these bytes
 * by the key the manifest names is as good under either name: trust is judged on its key (authenticate).
 */
export async function readSignature(verifier: ManifestVerifier, sink: Sink, manifest: Manifest, data: Buffer): Promise<StoredSignature> {
  const current = await getOptional(sink, RepositoryKeys.signature(manifest.id));
  const check = async (signature: Buffer): Promise<SignatureCheck> => {
    if (!manifest.signer) return { problem: 'its manifest names no signer (signer.publicKey) to check the signature with' };
    try {
      return { signer: await verifier.check(data, signature, manifest) };
    } catch (error) {
      return { problem: `its signature does not verify: ${(error as Error).message}` };
    }
  };
  const first = current && (await check(current));
  if (first && 'signer' in first) return { check: first, signature: current, pending: false };
  const next = await getOptional(sink, RepositoryKeys.nextSignature(manifest.id));
  if (!next) return { check: first ?? { unsigned: true }, pending: false };
  const second = await check(next);
  if ('signer' in second) return { check: second, signature: next, pending: true };
  return { check: first ?? second, pending: true };
}

/**
 * Judges every backup of a repository from its signature check. A good signature counts only from a key the
 * config trusts. An unsigned backup is read (with a warning) only when no backup of the repository is signed
 * by a trusted key (a repository from before signing) or a signed one vouches for it (`unsignedAccepted`):
 * an unsigned manifest put beside signed ones, or a signature removed, is refused.
 */
export function authenticate(
  verifier: ManifestVerifier | undefined,
  backups: Array<{ manifest: ManifestHead; signature?: SignatureCheck }>,
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
