import { createHash, webcrypto } from 'node:crypto';
import type { PartRecord } from './Manifest.js';

/**
 * SHA-256 in hex, computed on libuv's thread pool (WebCrypto), so the main thread keeps streaming; on this
 * thread for shared memory (a reused read slot), which WebCrypto refuses.
 */
export async function sha256(data: Buffer): Promise<string> {
  if (data.buffer instanceof SharedArrayBuffer) return createHash('sha256').update(data).digest('hex');
  return Buffer.from(await webcrypto.subtle.digest('SHA-256', data)).toString('hex');
}

/** How a stored object does not match its record, or undefined when it does. */
export async function checkStored(data: Buffer, part: PartRecord): Promise<{ kind: 'size' | 'checksum'; message: string } | undefined> {
  if (data.length !== part.storedSize) return { kind: 'size', message: `size ${data.length}, expected ${part.storedSize}` };
  const digest = await sha256(data);
  if (digest !== part.sha256)
    return { kind: 'checksum', message: `SHA-256 ${digest.slice(0, 12)}…, expected ${part.sha256.slice(0, 12)}…` };
  return undefined;
}
