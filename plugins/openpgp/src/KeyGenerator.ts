import { lstat, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeDirectories, outputRefused } from '@rast-backup/core';
import * as openpgp from 'openpgp';

export interface GeneratedKey {
  privateKeyFile: string;
  publicKeyFile: string;
  /** Upper-case hex. */
  fingerprint: string;
  protected: boolean;
}

/** Where generate-key writes the public key: beside the private key, like ssh-keygen. */
export const publicKeyFileFor = (privateKeyFile: string) => `${privateKeyFile}.pub`;

async function exists(file: string): Promise<boolean> {
  return lstat(file).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return false;
      throw error;
    },
  );
}

/**
 * Makes a key GnuPG 2.2 imports and uses: a version 4 Ed25519 primary key with a Curve25519 (ECDH) encryption
 * subkey, AES-256 preferred, never expiring (an expired key would stop backups). Writes the ASCII-armored
 * private key (mode 0600, optionally passphrase-protected) and its public key beside it; never overwrites.
 */
export async function generateKeyFiles(
  privateKeyFile: string,
  userId: string,
  passphrase?: string,
  /** A host signing key: the Ed25519 primary key only, no encryption subkey, no passphrase (it signs unattended). */
  signingOnly = false,
): Promise<GeneratedKey> {
  const publicKeyFile = publicKeyFileFor(privateKeyFile);
  for (const file of [privateKeyFile, publicKeyFile]) {
    if (await exists(file)) {
      throw outputRefused(
        file,
        'already exists: refusing to overwrite a key (backups made with it would become unreadable); move it away or choose another --output',
      );
    }
  }
  const { privateKey, publicKey } = await openpgp.generateKey({
    type: 'ecc',
    curve: 'curve25519Legacy',
    userIDs: [{ name: userId }],
    passphrase,
    keyExpirationTime: 0,
    ...(signingOnly ? { subkeys: [] } : {}),
    format: 'armored',
    config: { v6Keys: false, aeadProtect: false, preferredSymmetricAlgorithm: openpgp.enums.symmetric.aes256 },
  });
  const fingerprint = (await openpgp.readKey({ armoredKey: publicKey })).getFingerprint().toUpperCase();
  await makeDirectories(path.dirname(privateKeyFile), 0o700);
  try {
    await writeFile(privateKeyFile, privateKey, { flag: 'wx', mode: 0o600 });
  } catch (error) {
    throw outputRefused(privateKeyFile, `cannot be written: ${(error as Error).message}`);
  }
  try {
    await writeFile(publicKeyFile, publicKey, { flag: 'wx', mode: 0o644 });
  } catch (error) {
    await rm(privateKeyFile, { force: true });
    throw outputRefused(publicKeyFile, `cannot be written: ${(error as Error).message}`);
  }
  return { privateKeyFile, publicKeyFile, fingerprint, protected: passphrase !== undefined };
}
