import { RepositoryKeys } from './RepositoryKeys.js';
import type { Sink } from './types.js';

/**
 * Writes a manifest and its signature into one sink, where a manifest of that backup may already be (repair's
 * re-sign, a damaged copy put right), so that a write cut short anywhere leaves a manifest that a signature
 * beside it verifies: the new signature as `.sig.next`, then the manifest, then `.sig`, then `.sig.next` goes.
 * Until `.sig` is written, `.sig` verifies the old manifest or `.sig.next` the new one (readSignature tries both).
 * Without a signature, the manifest alone (and a signature left beside it would no longer match: none is expected).
 */
export async function replaceManifest(sink: Sink, id: string, data: Buffer, signature: Buffer | undefined): Promise<void> {
  const manifestKey = RepositoryKeys.manifest(id);
  if (!signature) {
    await sink.put(manifestKey, data, { durable: true });
    return;
  }
  await sink.put(RepositoryKeys.nextSignature(id), signature, { durable: true });
  await sink.put(manifestKey, data, { durable: true });
  await finishSignature(sink, id, signature);
}

/** Completes a replacement cut short: `.sig` gets the signature that verifies the manifest now there, and `.sig.next` goes. */
export async function finishSignature(sink: Sink, id: string, signature: Buffer): Promise<void> {
  await sink.put(RepositoryKeys.signature(id), signature, { durable: true });
  await sink.delete(RepositoryKeys.nextSignature(id));
}
