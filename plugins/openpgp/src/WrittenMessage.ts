import { createHash, timingSafeEqual } from 'node:crypto';
import { aesCfb } from './AesCfb.js';
import { checkLiteralName } from './LiteralName.js';
import { AES_BLOCK, LITERAL_DATA, MDC_HEADER, MDC_LENGTH, packetAt } from './PacketFormat.js';

/** Where the encrypted data of a message MessageWriter wrote lies, and its session key. */
export interface WrittenMessage {
  sessionKey: Uint8Array;
  /** The SEIPD packet's body after its version byte: `data.subarray(start, end)`. */
  start: number;
  end: number;
}

/**
 * Decrypts the data writtenMessageKey found, in one decipher pass (AesCfb), in place (over the encrypted
 * bytes in `data`: no memory of its own), and
 * checks it against the MDC (then its literal data packet's name against `expectedName`, when given) before
 * returning the literal data, a view into `data`; undefined when the literal data packet is not
 * MessageWriter's, with `data` as it was (enciphered again). Synchronous and free of openpgp.js (the main
 * thread finds the key with MessageReader), so that a worker thread runs it without loading openpgp.js.
 * `collect` (a young garbage collection) is called every few MiB when Node's cipher runs (see AesCfb).
 */
export function decryptWritten(
  data: Uint8Array,
  { sessionKey, start: from, end }: WrittenMessage,
  expectedName?: string,
  collect?: () => void,
): Buffer | undefined {
  const plain = Buffer.from(data.buffer, data.byteOffset + from, end - from);
  const decipher = aesCfb(sessionKey, true, { collect });
  try {
    decipher.update(plain, plain);
  } finally {
    decipher.close();
  }
  const written = plain.length;
  const damaged = (why: string) => new Error(`the OpenPGP message is damaged: ${why}`);
  if (written < AES_BLOCK + 2 + MDC_HEADER.length + MDC_LENGTH) throw damaged('too short');
  if (plain[AES_BLOCK - 2] !== plain[AES_BLOCK] || plain[AES_BLOCK - 1] !== plain[AES_BLOCK + 1])
    throw damaged('the session key does not decrypt it (check bytes differ)');
  const mdcAt = written - MDC_HEADER.length - MDC_LENGTH;
  const mdc = createHash('sha1')
    .update(plain.subarray(0, mdcAt + MDC_HEADER.length))
    .digest();
  if (
    !plain.subarray(mdcAt, mdcAt + MDC_HEADER.length).equals(MDC_HEADER) ||
    !timingSafeEqual(mdc, plain.subarray(mdcAt + MDC_HEADER.length, written))
  )
    throw damaged('modification detected (MDC mismatch)');
  const literal = packetAt(plain, AES_BLOCK + 2);
  if (!literal || literal.tag !== LITERAL_DATA || literal.body + literal.length !== mdcAt) {
    const cipher = aesCfb(sessionKey, false);
    try {
      cipher.update(plain, plain);
    } finally {
      cipher.close();
    }
    return undefined;
  }
  const nameLength = plain[literal.body + 1]!;
  const start = literal.body + 2 + nameLength + 4;
  if (start > mdcAt) throw damaged('a literal data packet shorter than its header');
  checkLiteralName(expectedName, plain.subarray(literal.body + 2, literal.body + 2 + nameLength).toString('utf8'));
  return plain.subarray(start, mdcAt);
}
