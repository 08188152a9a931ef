import { move, transferableSymbol, valueSymbol } from 'piscina';
import type { PartKeys } from './EncryptionStage.js';
import { writeMessage } from './MessageWriter.js';

export interface EncryptionJob extends PartKeys {
  data: Uint8Array;
}

/** Runs in a worker thread (piscina): writes one OpenPGP message and hands back its buffer (moved, not copied) and length. */
export default function encrypt(job: EncryptionJob): unknown {
  const output = writeMessage(job.sessionKeyPackets, job.sessionKey, job.data);
  return move({ [transferableSymbol]: output.buffer, [valueSymbol]: { buffer: output.buffer, length: output.length } } as never);
}
