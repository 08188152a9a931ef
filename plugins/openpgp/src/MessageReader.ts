import * as openpgp from 'openpgp';
import { packetAt, PUBLIC_KEY_ENCRYPTED_SESSION_KEY, SEIPD_VERSION, SYM_ENCRYPTED_INTEGRITY_PROTECTED_DATA } from './PacketFormat.js';
import type { WrittenMessage } from './WrittenMessage.js';

/**
 * The session key of a message as MessageWriter writes it (public-key session key packets, then one SEIPD v1
 * packet with AES-256), decrypted by openpgp.js, and where its data lies; undefined for any other message
 * shape, which the caller leaves to openpgp.js whole.
 */
export async function writtenMessageKey(data: Uint8Array, privateKey: openpgp.PrivateKey): Promise<WrittenMessage | undefined> {
  let offset = 0;
  let packet = packetAt(data, offset);
  while (packet?.tag === PUBLIC_KEY_ENCRYPTED_SESSION_KEY) {
    offset = packet.body + packet.length;
    packet = packetAt(data, offset);
  }
  if (!packet || packet.tag !== SYM_ENCRYPTED_INTEGRITY_PROTECTED_DATA || offset === 0 || packet.body + packet.length !== data.length)
    return undefined;
  if (data[packet.body] !== SEIPD_VERSION) return undefined;
  // A copy of the session key packets: openpgp.js hands them to WebCrypto, which refuses shared memory.
  const message = await openpgp.readMessage({ binaryMessage: new Uint8Array(data.subarray(0, offset)) });
  const [sessionKey] = await openpgp.decryptSessionKeys({ message, decryptionKeys: privateKey });
  if (!sessionKey || sessionKey.algorithm !== 'aes256') return undefined;
  return { sessionKey: sessionKey.data, start: packet.body + 1, end: packet.body + packet.length };
}
