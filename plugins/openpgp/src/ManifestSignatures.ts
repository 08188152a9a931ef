import { readFile } from 'node:fs/promises';
import {
  configKeyInvalid,
  secretFileExposure,
  type RastError,
  type Manifest,
  type ManifestSigner,
  type ManifestVerifier,
} from '@rast-backup/core';
import * as openpgp from 'openpgp';
import type { EncryptionSettings } from './EncryptionSettings.js';
import { formatFingerprint, loadPrivateKey, loadRecipient } from './KeyFiles.js';
import type { SigningSettings } from './SigningSettings.js';

/** SHA-512: what GnuPG 2.2 verifies for an Ed25519 (and any) signature. */
const HASH = openpgp.enums.hash.sha512;

function signingError(signing: SigningSettings, key: string, message: string): RastError {
  return configKeyInvalid(signing.where, key, message);
}

/** A private key file that signs: `[signing] key_path` (no passphrase: it signs unattended). */
async function loadHostKey(signing: SigningSettings, file: string): Promise<openpgp.PrivateKey> {
  const bytes = await readFile(file).catch((error: NodeJS.ErrnoException) => {
    const reason =
      error.code === 'ENOENT' ? 'no such file (make one with: rast-backup generate-key --signing --output FILE)' : error.message;
    throw signingError(signing, 'signing.key_path', `cannot read ${file}: ${reason}`);
  });
  const exposure = await secretFileExposure(file);
  if (exposure) throw signingError(signing, 'signing.key_path', exposure);
  let key: openpgp.Key;
  try {
    key = await openpgp.readKey({ armoredKey: bytes.toString('utf8') });
  } catch (error) {
    throw signingError(signing, 'signing.key_path', `${file} is not an armored OpenPGP key (${(error as Error).message})`);
  }
  if (!key.isPrivate()) throw signingError(signing, 'signing.key_path', `${file} holds a public key: signing needs the private key`);
  if (!key.isDecrypted())
    throw signingError(signing, 'signing.key_path', `${file} is protected by a passphrase: a host signing key must have none`);
  return key;
}

/**
 * The key that signs new manifests: `[signing] key_path`, else the encryption key's private key. A host
 * with only the public encryption key (write-only) and no signing key gets a one-line error naming what to do.
 */
export async function createSigner(signing: SigningSettings, encryption: EncryptionSettings): Promise<ManifestSigner> {
  let key: openpgp.PrivateKey;
  if (signing.keyPath) key = await loadHostKey(signing, signing.keyPath);
  else if (encryption.keyPath) {
    key = await loadPrivateKey(encryption).then(
      (loaded) => loaded.key,
      // Let the encryption's checks say what is wrong with the key files, as create would without signing.
      async (error: unknown) => {
        await loadRecipient(encryption);
        throw error;
      },
    );
  } else
    throw signingError(
      signing,
      'signing.key_path',
      `signing is on and this host has no signing key (encryption.key_path is not set: a write-only host): make one with rast-backup generate-key --signing --output /etc/rast/backup/signing.key, set [signing] key_path to it, and add its fingerprint to [signing] trusted on the hosts that restore`,
    );
  try {
    await key.getSigningKey();
  } catch (error) {
    throw signingError(
      signing,
      'signing.key_path',
      `the key ${formatFingerprint(key.getFingerprint().toUpperCase())} cannot sign: ${(error as Error).message}`,
    );
  }
  const publicKey = key.toPublic().armor();
  return {
    fingerprint: key.getFingerprint().toUpperCase(),
    publicKey,
    async sign(data) {
      const message = await openpgp.createMessage({ binary: data });
      const signature = await openpgp.sign({
        message,
        signingKeys: key,
        detached: true,
        format: 'armored',
        config: { preferredHashAlgorithm: HASH },
      });
      return Buffer.from(signature);
    },
  };
}

/** Checks signatures with the key each manifest records, and trust by fingerprint: `[signing] trusted`, else the encryption and signing keys. */
export async function createVerifier(signing: SigningSettings, encryption: EncryptionSettings): Promise<ManifestVerifier> {
  const trusted = new Set(signing.trusted ?? (await defaultTrusted(signing, encryption)));
  return {
    async check(data: Buffer, signatureBytes: Buffer, manifest: Manifest): Promise<string> {
      const named = manifest.signer!;
      const key = await openpgp.readKey({ armoredKey: named.publicKey });
      const fingerprint = key.getFingerprint().toUpperCase();
      if (fingerprint !== named.fingerprint) throw new Error(`the key it records is ${fingerprint}, not ${named.fingerprint}`);
      const text = signatureBytes.toString('latin1');
      const signature = text.includes('-----BEGIN PGP SIGNATURE-----')
        ? await openpgp.readSignature({ armoredSignature: text })
        : await openpgp.readSignature({ binarySignature: signatureBytes });
      const message = await openpgp.createMessage({ binary: data });
      const { signatures } = await openpgp.verify({ message, signature, verificationKeys: key, expectSigned: true, format: 'binary' });
      await signatures[0]!.verified;
      return fingerprint;
    },
    distrust(fingerprint: string): string | undefined {
      if (trusted.has(fingerprint)) return undefined;
      return `it is signed by key ${formatFingerprint(fingerprint)}, which this host does not trust: if that is the signing key of the host that made it, add "${fingerprint}" to [signing] trusted in ${signing.where}`;
    },
  };
}

/** The encryption key (its public part; from key_path or public_key_path) and the host signing key, when configured. */
async function defaultTrusted(signing: SigningSettings, encryption: EncryptionSettings): Promise<string[]> {
  const fingerprints: string[] = [];
  if (encryption.keyPath || encryption.publicKeyPath) fingerprints.push((await loadRecipient(encryption)).fingerprint);
  if (signing.keyPath) fingerprints.push((await loadHostKey(signing, signing.keyPath)).getFingerprint().toUpperCase());
  if (fingerprints.length === 0)
    throw signingError(
      signing,
      'signing.trusted',
      'signing is on, and no key is trusted: name the fingerprints of the keys that sign backups in [signing] trusted (or configure [encryption])',
    );
  return fingerprints;
}
