import { move, transferableSymbol, valueSymbol } from 'piscina';
import { collectYoungGarbageAfterTask } from '@rast-backup/core/worker';
import { decryptWritten, type WrittenMessage } from './WrittenMessage.js';

export interface DecryptionJob extends WrittenMessage {
  data: Uint8Array;
}

/**
 * What comes back: the literal data (its buffer moved, not copied), or, for a shape MessageWriter did not
 * write, `other` with the message (moved back) for openpgp.js.
 */
export type DecryptionResult = { buffer: ArrayBuffer; offset: number; length: number } | { other: true; data: Uint8Array };

/** Runs in a worker thread (piscina): decrypts and checks one message whose session key the main thread found. */
export default function decrypt(job: DecryptionJob): unknown {
  const plain = decryptWritten(job.data, job);
  collectYoungGarbageAfterTask(); // the message moved in, and the decipher's slices
  if (!plain) return move({ [transferableSymbol]: job.data.buffer, [valueSymbol]: { other: true, data: job.data } satisfies DecryptionResult } as never);
  const result: DecryptionResult = { buffer: plain.buffer as ArrayBuffer, offset: plain.byteOffset, length: plain.length };
  return move({ [transferableSymbol]: plain.buffer, [valueSymbol]: result } as never);
}
