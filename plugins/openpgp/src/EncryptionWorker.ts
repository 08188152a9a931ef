import { parentPort } from 'node:worker_threads';
import { writeMessage } from './MessageWriter.js';

/** A thread of WorkerPool: writes OpenPGP messages and hands them back without copying. */
export interface EncryptionJob {
  id: number;
  sessionKeyPackets: Uint8Array;
  sessionKey: Uint8Array;
  data: Uint8Array;
}

parentPort!.on('message', (job: EncryptionJob) => {
  try {
    const toBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const output = writeMessage(job.sessionKeyPackets, toBuffer(job.sessionKey), toBuffer(job.data));
    parentPort!.postMessage({ id: job.id, output }, [output.buffer as ArrayBuffer]);
  } catch (error) {
    parentPort!.postMessage({ id: job.id, error: (error as Error).message });
  }
});
