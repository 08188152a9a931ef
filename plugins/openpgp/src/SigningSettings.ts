import path from 'node:path';
import type { EncryptionSettings } from './EncryptionSettings.js';

/** The `[signing]` table as written by the user (validated by the signing plugin's options). */
export interface SigningOptions {
  enabled?: boolean;
  key_path?: string;
  trusted?: string[];
}

/** `[signing]`, normalised. */
export interface SigningSettings {
  /** Whether new manifests are signed and every manifest read is checked. */
  enabled: boolean;
  /** A host signing key (`generate-key --signing`); else the encryption key signs. */
  keyPath?: string;
  /** Fingerprints (upper-case hex, no spaces) whose signatures are accepted; undefined: the encryption key and the signing key. */
  trusted?: string[];
  /** The config file, for messages. */
  where: string;
}

/**
 * Signing is on with `enabled = true`, and also, when `enabled` is left out, whenever encryption is on or
 * `[signing]` names a key or trusted keys: an encrypted repository is always authenticated.
 */
export function normaliseSigning(options: SigningOptions, encryption: EncryptionSettings, configDirectory: string): SigningSettings {
  const keyPath = options.key_path === undefined ? undefined : path.resolve(configDirectory, options.key_path);
  const trusted = options.trusted?.map((fingerprint) => fingerprint.replace(/\s+/g, '').toUpperCase());
  return {
    enabled: options.enabled ?? (encryption.enabled || keyPath !== undefined || trusted !== undefined),
    keyPath,
    trusted,
    where: encryption.where,
  };
}
