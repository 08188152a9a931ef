import { randomBytes } from 'node:crypto';
import {
  configKeyInvalid,
  decryptionKeyUnusable,
  TransformStage,
  type DecoderWorker,
  type Transform,
  type TransformDecoder,
  type TransformWorker,
} from '@rast-backup/core';
import * as openpgp from 'openpgp';
import type { EncryptionSettings } from './EncryptionSettings.js';
import { formatFingerprint, loadPrivateKey, loadRecipients, type LoadedKey } from './KeyFiles.js';
import type { MessageKey } from './DecryptionStage.js';
import type { PartKeys } from './EncryptionStage.js';
import { expectedLiteralName, LITERAL_NAME_IS_KEY } from './LiteralName.js';
import { aesCfbLibrary } from './AesCfb.js';
import { messageBound, SESSION_KEY_PACKETS_ROOM } from './MessageWriter.js';
import { recipientsOf } from './Recipients.js';
import { writtenMessageKey } from './MessageReader.js';
import { ownedCopy } from './OwnedCopy.js';

/** The transform's name in manifests. */
export const TRANSFORM_NAME = 'openpgp';

/**
 * The encoding's worker stage: one self-contained message per part to the recipients (one session key packet
 * each), with a fresh session key, bound to the part's key (the literal data packet's name).
 */
export function encryptionWorker(recipients: openpgp.Key | openpgp.Key[]): TransformWorker {
  return {
    module: new URL('./EncryptionStage.js', import.meta.url).href,
    bound: messageBound,
    prepare: async (object) => ({ ...(await partKeys(recipients)), literalName: object.key }),
  };
}

/**
 * A fresh session key for one part, encrypted to each recipient by openpgp.js; the worker stage encrypts the
 * data with it (see MessageWriter). Like messageKey(), it first loads libgcrypt here on the main thread: the
 * library initialises once per process, and workers whose first ciphers raced that start failed with "Not
 * operational".
 */
async function partKeys(recipients: openpgp.Key | openpgp.Key[]): Promise<PartKeys> {
  aesCfbLibrary();
  const sessionKey = randomBytes(32);
  const sessionKeyPackets = await openpgp.encryptSessionKey({
    data: sessionKey,
    algorithm: 'aes256',
    encryptionKeys: recipients,
    format: 'binary',
  });
  return { sessionKeyPackets, sessionKey };
}

/**
 * The decoding's worker stage for messages to `privateKey` (any that openpgp.js reads, integrity-protected
 * only): the session key is decrypted here by openpgp.js, the data in the worker stage.
 */
export function decryptionWorker(privateKey: openpgp.PrivateKey): DecoderWorker {
  return { module: DECRYPTION_STAGE, prepare: async (data, params, object) => messageKey(privateKey, data, params, object) };
}

const DECRYPTION_STAGE = new URL('./DecryptionStage.js', import.meta.url).href;

async function messageKey(
  privateKey: openpgp.PrivateKey,
  data: Buffer,
  params: Record<string, unknown> = {},
  object?: { key: string },
): Promise<MessageKey> {
  aesCfbLibrary();
  const literalName = expectedLiteralName(params, object);
  const written = await writtenMessageKey(data, privateKey);
  if (written) return { written, literalName };
  const message = await openpgp.readMessage({ binaryMessage: ownedCopy(data) });
  const [sessionKey] = await openpgp.decryptSessionKeys({ message, decryptionKeys: privateKey });
  return { other: { data: sessionKey!.data, algorithm: sessionKey!.algorithm! }, literalName };
}

/**
 * The encryption transform for new backups. Loads the recipient key now, so that a missing, unreadable or
 * wrong key stops `create` before anything is written. The manifest records the key's fingerprint.
 */
export async function createEncryption(settings: EncryptionSettings, plugin: string): Promise<Transform> {
  const keys = await loadRecipients(settings);
  const [recipient] = keys as [LoadedKey];
  const { sessionKeyPackets } = await partKeys(keys.map((key) => key.key));
  if (sessionKeyPackets.length > SESSION_KEY_PACKETS_ROOM)
    throw configKeyInvalid(
      settings.where,
      'encryption.recipients',
      `the ${keys.length} keys' session key packets take ${sessionKeyPackets.length} bytes, more than the ${SESSION_KEY_PACKETS_ROOM} a part has room for: name fewer keys`,
    );
  // One key: the params as they always were. Several: each is listed too, the first one being `recipient`.
  const several: Record<string, unknown> =
    keys.length > 1 ? { recipients: keys.map((key) => ({ recipient: key.fingerprint, encryptionKey: key.encryptionFingerprint })) } : {};
  return {
    name: TRANSFORM_NAME,
    plugin,
    stage: TransformStage.ENCRYPT,
    params: {
      recipient: recipient.fingerprint,
      encryptionKey: recipient.encryptionFingerprint,
      ...several,
      cipher: 'AES-256',
      packet: 'SEIPDv1',
      literalName: LITERAL_NAME_IS_KEY,
    },
    worker: encryptionWorker(keys.map((key) => key.key)),
  };
}

/** Decodes parts with `key_path`'s private key, loaded (and unlocked) once, on first use. */
export function createDecryption(settings: EncryptionSettings): TransformDecoder {
  let loading: Promise<LoadedKey & { key: openpgp.PrivateKey }> | undefined;
  /** The private key that decrypts parts encrypted with `params`; a missing, locked or wrong key is CONFIG_INVALID or TRANSFORM_FAILED. */
  const keyFor = async (params: Record<string, unknown>) => {
    const recipients = recipientsOf(params);
    const recipient = recipients.length > 0 ? recipients.join(', ') : undefined;
    const needed =
      recipients.length > 1
        ? `keys ${recipients.map(formatFingerprint).join(' and ')} (any one of them reads it)`
        : recipient
          ? `key ${formatFingerprint(recipient)}`
          : 'an OpenPGP key';
    if (!settings.keyPath) {
      const message = settings.publicKeyPath
        ? `this backup is encrypted to ${needed}, and this host has only a public key (encryption.public_key_path in ${settings.where}): it can make backups but not read them. Restore, verify, and an incremental create (which reads its parent's file index) need the private key: set encryption.key_path to it`
        : `this backup is encrypted to ${needed}: set [encryption] key_path in ${settings.where} to its private key to read it`;
      throw decryptionKeyUnusable(message, { recipient });
    }
    loading ??= loadPrivateKey(settings);
    const key = await loading;
    if (recipients.length > 0 && !recipients.includes(key.fingerprint)) {
      throw decryptionKeyUnusable(
        `this backup is encrypted to ${needed}, but encryption.key_path (${key.file}) is key ${formatFingerprint(key.fingerprint)}: set key_path to the private key ${recipients.length > 1 ? `of one of ${recipient}` : recipient}`,
        { recipient, configured: key.fingerprint },
      );
    }
    return key.key;
  };
  return {
    worker: { module: DECRYPTION_STAGE, prepare: async (data, params, object) => messageKey(await keyFor(params), data, params, object) },
    async ready(params) {
      await keyFor(params);
    },
  };
}
