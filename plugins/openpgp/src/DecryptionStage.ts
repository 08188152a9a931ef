import type { DecoderStage } from '@rast-backup/core/worker';
import { checkLiteralName } from './LiteralName.js';
import { ownedCopy } from './OwnedCopy.js';
import { decryptWritten, type WrittenMessage } from './WrittenMessage.js';

/**
 * What the main thread found in one message with the private key: where the data of a message MessageWriter
 * wrote lies and its session key, or only the session key of a message of another shape.
 */
export type MessageKey = ({ written: WrittenMessage } | { other: { data: Uint8Array; algorithm: string } }) & {
  /** The file name the literal data packet must carry (the object's key, see LiteralName), when the manifest binds parts. */
  literalName?: string;
};

/**
 * The OpenPGP decoder's worker-thread stage: deciphers and checks a message MessageWriter wrote with AesCfb
 * (see decryptWritten); leaves any other shape to openpgp.js, loaded only then, with its session key.
 */
export default function decryptionStage(): DecoderStage {
  return async (input, prepared, collect) => {
    const key = prepared as MessageKey;
    if ('written' in key) {
      return (
        decryptWritten(input, key.written, key.literalName, collect) ??
        decryptOther(input, { data: key.written.sessionKey, algorithm: 'aes256' }, key.literalName)
      );
    }
    return decryptOther(input, key.other, key.literalName);
  };
}

async function decryptOther(
  data: Uint8Array,
  sessionKeys: { data: Uint8Array; algorithm: string },
  literalName?: string,
): Promise<Uint8Array> {
  const openpgp = await import('openpgp');
  const message = await openpgp.readMessage({ binaryMessage: ownedCopy(data) });
  const { data: plain, filename } = await openpgp.decrypt({
    message,
    sessionKeys: sessionKeys as import('openpgp').SessionKey,
    format: 'binary',
  });
  checkLiteralName(literalName, filename);
  return plain;
}
