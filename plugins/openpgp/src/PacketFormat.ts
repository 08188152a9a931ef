/** OpenPGP packet tags (RFC 4880 §4.3) of the messages MessageWriter writes and MessageReader reads. */
export const PUBLIC_KEY_ENCRYPTED_SESSION_KEY = 1;
export const LITERAL_DATA = 11;
export const SYM_ENCRYPTED_INTEGRITY_PROTECTED_DATA = 18;
export const MODIFICATION_DETECTION_CODE = 19;

/** The version byte that opens a SEIPD v1 packet's body (RFC 4880 §5.13). */
export const SEIPD_VERSION = 1;
/** AES's block size: the CFB prefix is one block of random bytes plus its last two repeated. */
export const AES_BLOCK = 16;
/** The MDC packet's body: a SHA-1 digest. */
export const MDC_LENGTH = 20;
/** The MDC packet's header (new format, tag 19, a 20-byte body), which the digest covers too. */
export const MDC_HEADER = Buffer.from([0xc0 | MODIFICATION_DETECTION_CODE, MDC_LENGTH]);

export interface Packet {
  tag: number;
  /** Offset of the body, and its length. */
  body: number;
  length: number;
}

/** A new-format packet with a definite length at `offset` (what MessageWriter writes), or undefined for anything else. */
export function packetAt(data: Uint8Array, offset: number): Packet | undefined {
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
