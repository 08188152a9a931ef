import { createDecipheriv, createHash, timingSafeEqual } from 'node:crypto';
import * as openpgp from 'openpgp';
import { AES_BLOCK, LITERAL_DATA, MDC_HEADER, MDC_LENGTH, PUBLIC_KEY_ENCRYPTED_SESSION_KEY, SEIPD_VERSION, SYM_ENCRYPTED_INTEGRITY_PROTECTED_DATA } from './PacketFormat.js';

const SLICE = 1024 * 1024;

interface Packet {
  tag: number;
  /** Offset of the body, and its length. */
  body: number;
  length: number;
}

/** A new-format packet with a definite length at `offset` (what MessageWriter writes), or undefined for anything else. */
function packetAt(data: Uint8Array, offset: number): Packet | undefined {
  if (offset + 2 > data.length || (data[offset]! & 0xc0) !== 0xc0) return undefined;
  const tag = data[offset]! & 0x3f;
  const first = data[offset + 1]!;
  let header: number;
  let length: number;
  if (first < 192) [header, length] = [2, first];
  else if (first < 224) [header, length] = [3, ((first - 192) << 8) + data[offset + 2]! + 192];
  else if (first === 255) [header, length] = [6, Buffer.from(data.buffer, data.byteOffset + offset + 2, 4).readUInt32BE(0)];
  else return undefined; // a partial body length: a streamed message, left to openpgp.js
  if (offset + header + length > data.length) return undefined;
  return { tag, body: offset + header, length };
}

/**
 * Decrypts a message as MessageWriter writes it (public-key session key packets, then one SEIPD v1 packet with
 * AES-256 holding one literal data packet and the MDC), with Node's OpenSSL: the session key comes from
 * openpgp.js, the bulk from one decipher pass into one buffer, checked against the MDC before it is returned.
 * Returns undefined for any other message shape, which the caller leaves to openpgp.js whole.
 */
export async function readWrittenMessage(data: Uint8Array, privateKey: openpgp.PrivateKey): Promise<Buffer | undefined> {
  let offset = 0;
  let packet = packetAt(data, offset);
  while (packet?.tag === PUBLIC_KEY_ENCRYPTED_SESSION_KEY) {
    offset = packet.body + packet.length;
    packet = packetAt(data, offset);
  }
  if (!packet || packet.tag !== SYM_ENCRYPTED_INTEGRITY_PROTECTED_DATA || offset === 0 || packet.body + packet.length !== data.length) return undefined;
  if (data[packet.body] !== SEIPD_VERSION) return undefined;
  const message = await openpgp.readMessage({ binaryMessage: data.subarray(0, offset) });
  const [sessionKey] = await openpgp.decryptSessionKeys({ message, decryptionKeys: privateKey });
  if (!sessionKey || sessionKey.algorithm !== 'aes256') return undefined;

  const encrypted = data.subarray(packet.body + 1, packet.body + packet.length);
  const plain = Buffer.allocUnsafeSlow(encrypted.length);
  const decipher = createDecipheriv('aes-256-cfb', sessionKey.data, Buffer.alloc(AES_BLOCK));
  let written = 0;
  for (let start = 0; start < encrypted.length; start += SLICE) written += decipher.update(encrypted.subarray(start, start + SLICE)).copy(plain, written);
  written += decipher.final().copy(plain, written);
  const damaged = (why: string) => new Error(`the OpenPGP message is damaged: ${why}`);
  if (written !== encrypted.length || written < AES_BLOCK + 2 + MDC_HEADER.length + MDC_LENGTH) throw damaged('too short');
  if (plain[AES_BLOCK - 2] !== plain[AES_BLOCK] || plain[AES_BLOCK - 1] !== plain[AES_BLOCK + 1]) throw damaged('the session key does not decrypt it (check bytes differ)');
  const mdcAt = written - MDC_HEADER.length - MDC_LENGTH;
  const mdc = createHash('sha1').update(plain.subarray(0, mdcAt + MDC_HEADER.length)).digest();
  if (!plain.subarray(mdcAt, mdcAt + MDC_HEADER.length).equals(MDC_HEADER) || !timingSafeEqual(mdc, plain.subarray(mdcAt + MDC_HEADER.length, written))) throw damaged('modification detected (MDC mismatch)');
  const literal = packetAt(plain, AES_BLOCK + 2);
  if (!literal || literal.tag !== LITERAL_DATA || literal.body + literal.length !== mdcAt) return undefined;
  const nameLength = plain[literal.body + 1]!;
  const start = literal.body + 2 + nameLength + 4;
  if (start > mdcAt) throw damaged('a literal data packet shorter than its header');
  return plain.subarray(start, mdcAt);
}
