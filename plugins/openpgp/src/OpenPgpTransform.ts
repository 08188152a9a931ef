import { randomBytes } from 'node:crypto';
import { ErrorCode, RastError, TransformStage, transferList, type Transform, type TransformDecoder } from '@rast-backup/core';
import * as openpgp from 'openpgp';
import type { EncryptionSettings } from './EncryptionSettings.js';
import { formatFingerprint, loadPrivateKey, loadRecipient, type LoadedKey } from './KeyFiles.js';
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { PartKeys } from './EncryptionStage.js';
import type { EncryptionJob } from './EncryptionWorker.js';
import { messageBound } from './MessageWriter.js';
import type { DecryptionJob, DecryptionResult } from './DecryptionWorker.js';
import { writtenMessageKey } from './MessageReader.js';

/** The transform's name in manifests. */
export const TRANSFORM_NAME = 'openpgp';

let pool: Piscina | undefined;

/** Threads that write the messages, one per core, beside compression and the main thread's serialization. */
function workers(): Piscina {
  pool ??= new Piscina({ filename: new URL('./EncryptionWorker.js', import.meta.url).href, maxThreads: availableParallelism(), idleTimeout: 1000 });
  return pool;
}

/**
 * Encrypts one part as a self-contained OpenPGP message to `recipient`, with a fresh session key: openpgp.js
 * encrypts the session key, a worker thread the data (see MessageWriter).
 */
export async function encryptPart(recipient: openpgp.Key, data: Buffer): Promise<Buffer> {
  const job: EncryptionJob = { ...(await partKeys(recipient)), data };
  const { buffer, length } = (await workers().run(job, { transferList: transferList(data) })) as { buffer: ArrayBuffer; length: number };
  return Buffer.from(buffer, 0, length);
}

/** A fresh session key for one part, encrypted to `recipient` by openpgp.js. */
async function partKeys(recipient: openpgp.Key): Promise<PartKeys> {
  const sessionKey = randomBytes(32);
  const sessionKeyPackets = await openpgp.encryptSessionKey({ data: sessionKey, algorithm: 'aes256', encryptionKeys: recipient, format: 'binary' });
  return { sessionKeyPackets, sessionKey };
}

let decryptionPool: Piscina | undefined;

/**
 * One thread that deciphers the messages' data, off the main thread (which decodes the stream). One is
 * enough to keep ahead of decompression and decoding, and each more thread holds parts of its own.
 */
function decryptionWorker(): Piscina {
  decryptionPool ??= new Piscina({ filename: new URL('./DecryptionWorker.js', import.meta.url).href, minThreads: 1, maxThreads: 1, idleTimeout: 1000 });
  return decryptionPool;
}

/**
 * Decrypts one OpenPGP message (any that openpgp.js reads, integrity-protected only). A message MessageWriter
 * wrote has its session key decrypted here by openpgp.js and its data in a worker thread, taking ownership of
 * `data` (the TransformDecoder contract); any other is left to openpgp.js whole.
 */
export async function decryptPart(privateKey: openpgp.PrivateKey, data: Buffer): Promise<Buffer> {
  const written = await writtenMessageKey(data, privateKey);
  if (written) {
    const job: DecryptionJob = { ...written, data };
    const result = (await decryptionWorker().run(job, { transferList: transferList(data) })) as DecryptionResult;
    if ('other' in result) data = Buffer.from(result.data.buffer, result.data.byteOffset, result.data.byteLength);
    else return Buffer.from(result.buffer, result.offset, result.length);
  }
  const message = await openpgp.readMessage({ binaryMessage: data });
  const { data: plain } = await openpgp.decrypt({ message, decryptionKeys: privateKey, format: 'binary' });
  return Buffer.from(plain.buffer, plain.byteOffset, plain.byteLength);
}

/**
 * The encryption transform for new backups. Loads the recipient key now, so that a missing, unreadable or
 * wrong key stops `create` before anything is written. The manifest records the key's fingerprint.
 */
export async function createEncryption(settings: EncryptionSettings, plugin: string): Promise<Transform> {
  const recipient = await loadRecipient(settings);
  return {
    name: TRANSFORM_NAME,
    plugin,
    stage: TransformStage.ENCRYPT,
    params: { recipient: recipient.fingerprint, encryptionKey: recipient.encryptionFingerprint, cipher: 'AES-256', packet: 'SEIPDv1' },
    encode: (data) => encryptPart(recipient.key, data),
    worker: { module: new URL('./EncryptionStage.js', import.meta.url).href, bound: messageBound, prepare: () => partKeys(recipient.key) },
  };
}

/** Decodes parts with `key_path`'s private key, loaded (and unlocked) once, on first use. */
export function createDecryption(settings: EncryptionSettings): TransformDecoder {
  let loading: Promise<LoadedKey & { key: openpgp.PrivateKey }> | undefined;
  /** The private key that decrypts parts encrypted with `params`; a missing, locked or wrong key is CONFIG_INVALID or TRANSFORM_FAILED. */
  const keyFor = async (params: Record<string, unknown>) => {
    const recipient = typeof params.recipient === 'string' ? params.recipient : undefined;
    const needed = recipient ? `key ${formatFingerprint(recipient)}` : 'an OpenPGP key';
    if (!settings.keyPath) {
      const message = settings.publicKeyPath
        ? `this backup is encrypted to ${needed}, and this host has only a public key (encryption.public_key_path in ${settings.where}): it can make backups but not read them. Restore, verify, and an incremental create (which reads its parent's file index) need the private key: set encryption.key_path to it`
        : `this backup is encrypted to ${needed}: set [encryption] key_path in ${settings.where} to its private key to read it`;
      throw new RastError(ErrorCode.TRANSFORM_FAILED, message, { recipient });
    }
    loading ??= loadPrivateKey(settings);
    const key = await loading;
    if (recipient && recipient !== key.fingerprint) {
      throw new RastError(
        ErrorCode.TRANSFORM_FAILED,
        `this backup is encrypted to ${needed}, but encryption.key_path (${key.file}) is key ${formatFingerprint(key.fingerprint)}: set key_path to the private key ${recipient}`,
        { recipient, configured: key.fingerprint },
      );
    }
    return key.key;
  };
  return {
    async decode(data, params) {
      return decryptPart(await keyFor(params), data);
    },
    async ready(params) {
      await keyFor(params);
    },
  };
}
