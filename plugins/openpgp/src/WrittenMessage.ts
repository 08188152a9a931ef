import { createCipheriv, createDecipheriv, createHash, timingSafeEqual } from 'node:crypto';
import { checkLiteralName } from './LiteralName.js';
import { AES_BLOCK, LITERAL_DATA, MDC_HEADER, MDC_LENGTH, packetAt } from './PacketFormat.js';

/** The encrypted data is deciphered in slices of this size. */
const SLICE = 1024 * 1024;
/** Slices deciphered between two calls of `collect`: each slice's output is new memory, garbage once copied. */
const SLICES_PER_COLLECTION = 4;

/** Where the encrypted data of a message MessageWriter wrote lies, and its session key. */
export interface WrittenMessage {
  sessionKey: Uint8Array;
  /** The SEIPD packet's body after its version byte: `data.subarray(start, end)`. */
  start: number;
  end: number;
}

/**
 * Decrypts the data writtenMessageKey found, with Node's OpenSSL in one decipher pass, in place (over the
 * encrypted bytes in `data`: no memory of its own), and
 * checks it against the MDC (then its literal data packet's name against `expectedName`, when given) before
 * returning the literal data, a view into `data`; undefined when the literal data packet is not
 * MessageWriter's, with `data` as it was (enciphered again). Synchronous and free of openpgp.js (the main
 * thread finds the key with MessageReader), so that a worker thread runs it without loading openpgp.js.
 * `collect` (a young garbage collection) is called every few slices, so that their outputs do not pile up.
 */
export function decryptWritten(
  data: Uint8Array,
  { sessionKey, start: from, end }: WrittenMessage,
  expectedName?: string,
  collect?: () => void,
): Buffer | undefined {
  const plain = Buffer.from(data.buffer, data.byteOffset + from, end - from);
  const decipher = createDecipheriv('aes-256-cfb', sessionKey, Buffer.alloc(AES_BLOCK));
  let written = 0;
  // Each slice is deciphered before its bytes are written over (CFB keeps the last ciphertext block itself).
  for (let start = 0, slice = 1; start < plain.length; start += SLICE, slice++) {
    written += decipher.update(plain.subarray(start, start + SLICE)).copy(plain, written);
    if (slice % SLICES_PER_COLLECTION === 0) collect?.();
  }
  written += decipher.final().copy(plain, written);
  const damaged = (why: string) => new Error(`the OpenPGP message is damaged: ${why}`);
  if (written !== plain.length || written < AES_BLOCK + 2 + MDC_HEADER.length + MDC_LENGTH) throw damaged('too short');
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
    const cipher = createCipheriv('aes-256-cfb', sessionKey, Buffer.alloc(AES_BLOCK));
    for (let start = 0; start < plain.length; start += SLICE) cipher.update(plain.subarray(start, start + SLICE)).copy(plain, start);
    return undefined;
  }
  const nameLength = plain[literal.body + 1]!;
  const start = literal.body + 2 + nameLength + 4;
  if (start > mdcAt) throw damaged('a literal data packet shorter than its header');
  checkLiteralName(expectedName, plain.subarray(literal.body + 2, literal.body + 2 + nameLength).toString('utf8'));
  return plain.subarray(start, mdcAt);
}
