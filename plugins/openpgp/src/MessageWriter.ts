import { createHash, randomBytes } from 'node:crypto';
import { aesCfb } from './AesCfb.js';
import { literalHeader, MAX_LITERAL_NAME } from './LiteralName.js';
import { AES_BLOCK, MDC_HEADER, MDC_LENGTH, SEIPD_VERSION, SYM_ENCRYPTED_INTEGRITY_PROTECTED_DATA } from './PacketFormat.js';

/** Room left for the public-key session key packets, one per recipient (an ECDH PKESK is about 100 bytes, an RSA-4096 one under 600). */
export const SESSION_KEY_PACKETS_ROOM = 16384;
/** Packet headers, the CFB prefix, the literal data header (with its name) and the MDC packet. */
const FRAMING = 6 + 1 + AES_BLOCK + 2 + 6 + 6 + MAX_LITERAL_NAME + MDC_HEADER.length + MDC_LENGTH;

/** A new-format packet header (RFC 4880 §4.2.2) for a body of `length` bytes. */
export function packetHeader(tag: number, length: number): Buffer {
  const first = 0xc0 | tag;
  if (length < 192) return Buffer.from([first, length]);
  if (length < 8384) return Buffer.from([first, ((length - 192) >> 8) + 192, (length - 192) & 0xff]);
  const header = Buffer.alloc(6);
  header[0] = first;
  header[1] = 0xff;
  header.writeUInt32BE(length, 2);
  return header;
}

/** The largest message writeMessageInto makes from `size` bytes of data. */
export function messageBound(size: number): number {
  return size + SESSION_KEY_PACKETS_ROOM + FRAMING;
}

/**
 * Writes one OpenPGP message into `output` and returns its length: the given public-key session key packets
 * (made by openpgp.js), then a version 1 Symmetrically Encrypted Integrity Protected Data packet (AES-256 CFB
 * with an MDC, RFC 4880 §5.13), the form GnuPG 2.2 reads, holding one binary literal data packet with `data`
 * and `name` (see LiteralName: the key the message is stored under).
 *
 * openpgp.js writes the same packets, but copies each part several times on the way (a third of its time,
 * measured); here the cipher is libgcrypt's or Node's (AesCfb), the hash Node's, and the data is read once.
 * `output` (at least messageBound(data.length) bytes) must not overlap `data`. `collect`, if given, frees Node's
 * cipher's output slices now and then (a garbage collection; see WorkerStage).
 */
export function writeMessageInto(
  output: Buffer,
  sessionKeyPackets: Uint8Array,
  sessionKey: Uint8Array,
  data: Uint8Array,
  collect?: () => void,
  name = '',
): number {
  if (sessionKey.length !== 32) throw new Error('the session key must be 32 bytes (AES-256)');
  if (sessionKeyPackets.length > SESSION_KEY_PACKETS_ROOM)
    throw new Error(`the session key packets take ${sessionKeyPackets.length} bytes, more than ${SESSION_KEY_PACKETS_ROOM}`);
  if (output.length < messageBound(data.length))
    throw new Error(`OpenPGP message writer: ${output.length} bytes of output for ${data.length} bytes of data`);
  const literal = literalHeader(packetHeader, name, data.length);
  const random = randomBytes(AES_BLOCK);
  const prefix = Buffer.concat([random, random.subarray(AES_BLOCK - 2)]);
  const mdc = createHash('sha1').update(prefix).update(literal).update(data).update(MDC_HEADER).digest();

  const plaintextLength = prefix.length + literal.length + data.length + MDC_HEADER.length + mdc.length;
  const seipdHeader = packetHeader(SYM_ENCRYPTED_INTEGRITY_PROTECTED_DATA, 1 + plaintextLength);
  const length = sessionKeyPackets.length + seipdHeader.length + 1 + plaintextLength;
  output.set(sessionKeyPackets, 0);
  let offset = sessionKeyPackets.length;
  offset += seipdHeader.copy(output, offset);
  output[offset++] = SEIPD_VERSION;
  // SEIPD v1: CFB over the whole plaintext with a zero IV, no resynchronisation.
  const cipher = aesCfb(sessionKey, false, { collect });
  try {
    for (const piece of [prefix, literal, data, MDC_HEADER, mdc]) {
      cipher.update(piece, output.subarray(offset, offset + piece.length));
      offset += piece.length;
    }
  } finally {
    cipher.close();
  }
  if (offset !== length) throw new Error(`OpenPGP message writer: wrote ${offset} bytes, expected ${length}`);
  return length;
}

/** writeMessageInto a new Buffer that owns its memory (never a slice of a shared pool), so it can be transferred between threads. */
export function writeMessage(sessionKeyPackets: Uint8Array, sessionKey: Uint8Array, data: Uint8Array, name = ''): Buffer {
  const output = Buffer.allocUnsafeSlow(messageBound(data.length));
  return output.subarray(0, writeMessageInto(output, sessionKeyPackets, sessionKey, data, undefined, name));
}
