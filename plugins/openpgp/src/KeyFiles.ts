import { readFile, stat } from 'node:fs/promises';
import { configKeyInvalid, secretFileExposure, type RastError } from '@rast-backup/core';
import * as openpgp from 'openpgp';
import type { EncryptionSettings } from './EncryptionSettings.js';

/** A key as the plugin uses it: the OpenPGP key and the facts recorded in manifests and messages. */
export interface LoadedKey {
  key: openpgp.Key;
  /** Primary key fingerprint, upper-case hex, as `gpg --list-keys` prints it. */
  fingerprint: string;
  /** Fingerprint of the (sub)key that session keys are encrypted to. */
  encryptionFingerprint: string;
  /** Its key id, upper-case hex: what `gpg --list-packets` shows in a part. */
  encryptionKeyId: string;
  /** The file it came from. */
  file: string;
}

/** Algorithms of RFC 9580 that GnuPG 2.2 (Debian 12) cannot use: parts encrypted to them could not be recovered with gpg. */
const UNSUPPORTED_BY_GNUPG_22 = new Set(['x25519', 'x448', 'ed25519', 'ed448']);

export function formatFingerprint(fingerprint: string): string {
  return fingerprint.replace(/(.{4})/g, '$1 ').trim();
}

function configError(settings: EncryptionSettings, key: string, message: string): RastError {
  return configKeyInvalid(settings.where, `encryption.${key}`, message);
}

/** Refuses a secret file (private key, passphrase) that others, or a group other than rast-backup, may use. */
async function checkPrivateFile(settings: EncryptionSettings, configKey: string, file: string): Promise<void> {
  const stats = await stat(file).catch((error: NodeJS.ErrnoException) => {
    throw configError(settings, configKey, `cannot read ${file}: ${describeFsError(error)}`);
  });
  if (!stats.isFile()) throw configError(settings, configKey, `${file} is not a file`);
  const exposure = await secretFileExposure(file);
  if (exposure) throw configError(settings, configKey, exposure);
}

function describeFsError(error: NodeJS.ErrnoException): string {
  if (error.code === 'ENOENT') return 'no such file (create a key with: rast-backup generate-key)';
  if (error.code === 'EACCES') return "permission denied (run as the key file's owner, usually root)";
  return error.message;
}

async function parseKeyFile(settings: EncryptionSettings, configKey: string, file: string): Promise<openpgp.Key> {
  const bytes = await readFile(file).catch((error: NodeJS.ErrnoException) => {
    throw configError(settings, configKey, `cannot read ${file}: ${describeFsError(error)}`);
  });
  try {
    const text = bytes.toString('latin1');
    if (text.includes('-----BEGIN PGP PRIVATE KEY BLOCK-----') || text.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----')) {
      return await openpgp.readKey({ armoredKey: bytes.toString('utf8') });
    }
    return await openpgp.readKey({ binaryKey: bytes });
  } catch (error) {
    throw configError(settings, configKey, `${file} is not an OpenPGP key (${(error as Error).message})`);
  }
}

/** The key's encryption subkey, checked for what GnuPG 2.2 can use. */
async function describeKey(settings: EncryptionSettings, configKey: string, file: string, key: openpgp.Key): Promise<LoadedKey> {
  let encryptionKey: openpgp.Key | openpgp.Subkey;
  try {
    encryptionKey = await key.getEncryptionKey();
  } catch (error) {
    throw configError(
      settings,
      configKey,
      `${file} has no usable encryption key (${(error as Error).message}); make one with rast-backup generate-key`,
    );
  }
  const algorithm = encryptionKey.getAlgorithmInfo().algorithm;
  if (key.keyPacket.version !== 4 || UNSUPPORTED_BY_GNUPG_22.has(algorithm)) {
    throw configError(
      settings,
      configKey,
      `${file} is a version ${key.keyPacket.version} key using ${algorithm}, which GnuPG 2.2 cannot use: backups could not be recovered with gpg; make a key with rast-backup generate-key`,
    );
  }
  return {
    key,
    fingerprint: key.getFingerprint().toUpperCase(),
    encryptionFingerprint: encryptionKey.getFingerprint().toUpperCase(),
    encryptionKeyId: encryptionKey.getKeyID().toHex().toUpperCase(),
    file,
  };
}

/**
 * The key new backups are encrypted to: `public_key_path`, else the public part of `key_path` (no passphrase
 * needed). When both are set they must be the same key. A private key file must be private to its owner.
 */
export async function loadRecipient(settings: EncryptionSettings): Promise<LoadedKey> {
  let fromPrivate: LoadedKey | undefined;
  if (settings.keyPath) {
    await checkPrivateFile(settings, 'key_path', settings.keyPath);
    const key = await parseKeyFile(settings, 'key_path', settings.keyPath);
    if (!key.isPrivate()) {
      throw configError(
        settings,
        'key_path',
        `${settings.keyPath} holds a public key, not a private one: for a host that only makes backups, set it as encryption.public_key_path instead`,
      );
    }
    fromPrivate = await describeKey(settings, 'key_path', settings.keyPath, key.toPublic());
  }
  if (!settings.publicKeyPath) return fromPrivate!;
  const key = await parseKeyFile(settings, 'public_key_path', settings.publicKeyPath);
  const recipient = await describeKey(settings, 'public_key_path', settings.publicKeyPath, key.toPublic());
  if (fromPrivate && fromPrivate.fingerprint !== recipient.fingerprint) {
    throw configError(
      settings,
      'public_key_path',
      `${settings.publicKeyPath} is key ${recipient.fingerprint}, but key_path ${settings.keyPath} is key ${fromPrivate.fingerprint}: they must be the same key (or leave public_key_path out)`,
    );
  }
  return recipient;
}

/** The passphrase from `passphrase_file` (first line) or the environment variable `passphrase_env`. */
async function readPassphrase(settings: EncryptionSettings): Promise<{ passphrase?: string; source: string }> {
  if (settings.passphraseFile) {
    await checkPrivateFile(settings, 'passphrase_file', settings.passphraseFile);
    const text = await readFile(settings.passphraseFile, 'utf8');
    return { passphrase: text.split(/\r?\n/)[0], source: `passphrase_file ${settings.passphraseFile}` };
  }
  const value = process.env[settings.passphraseEnv];
  return { passphrase: value === '' ? undefined : value, source: `environment variable ${settings.passphraseEnv}` };
}

/** The private key of `key_path`, unlocked. Needed to read backups: restore, verify, an incremental's parent index. */
export async function loadPrivateKey(settings: EncryptionSettings): Promise<LoadedKey & { key: openpgp.PrivateKey }> {
  const file = settings.keyPath!;
  await checkPrivateFile(settings, 'key_path', file);
  const key = await parseKeyFile(settings, 'key_path', file);
  if (!key.isPrivate()) throw configError(settings, 'key_path', `${file} holds a public key: reading backups needs the private key`);
  let privateKey = key as openpgp.PrivateKey;
  if (!privateKey.isDecrypted()) {
    const { passphrase, source } = await readPassphrase(settings);
    if (passphrase === undefined) {
      throw configError(
        settings,
        'key_path',
        `${file} is protected by a passphrase: put it in the ${source} (or set encryption.passphrase_file to a file holding it)`,
      );
    }
    try {
      privateKey = await openpgp.decryptKey({ privateKey, passphrase });
    } catch {
      throw configError(settings, 'key_path', `the passphrase from the ${source} does not unlock ${file}`);
    }
  }
  const described = await describeKey(settings, 'key_path', file, privateKey);
  return { ...described, key: privateKey };
}

/**
 * Every key new backups are encrypted to: loadRecipient's, then each of `recipients` (public or private key
 * files; only their public part is used). A key named twice is a config error.
 */
export async function loadRecipients(settings: EncryptionSettings): Promise<LoadedKey[]> {
  const keys = [await loadRecipient(settings)];
  for (const [position, file] of settings.recipients.entries()) {
    const configKey = `recipients[${position}]`;
    const key = await parseKeyFile(settings, configKey, file);
    if (key.isPrivate()) await checkPrivateFile(settings, configKey, file);
    const loaded = await describeKey(settings, configKey, file, key.toPublic());
    const same = keys.find((known) => known.fingerprint === loaded.fingerprint);
    if (same)
      throw configError(
        settings,
        configKey,
        `${file} is key ${loaded.fingerprint}, which ${same.file} already is: name each recipient once`,
      );
    keys.push(loaded);
  }
  return keys;
}
