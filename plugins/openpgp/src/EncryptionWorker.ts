import { move } from 'piscina';
import { writeMessage } from './MessageWriter.js';

export interface EncryptionJob {
  sessionKeyPackets: Uint8Array;
  sessionKey: Uint8Array;
  data: Uint8Array;
}

const toBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** Runs in a worker thread (piscina): writes one OpenPGP message and hands back exactly its bytes, without copying. */
export default function encrypt(job: EncryptionJob): ArrayBuffer {
  const output = writeMessage(job.sessionKeyPackets, toBuffer(job.sessionKey), toBuffer(job.data));
  const exact = output.byteOffset === 0 && output.byteLength === output.buffer.byteLength ? output.buffer : output.buffer.slice(output.byteOffset, output.byteOffset + output.byteLength);
  return move(exact as ArrayBuffer) as ArrayBuffer;
}
