import path from 'node:path';
import { packageIdentity, pluginState, type Pipeline } from '@rast-backup/core';

/** The seed's key location, used when `[encryption]` names no key and by `generate-key` without `--output`. */
export const DEFAULT_KEY_PATH = '/etc/rast/backup/encryption.key';
/** Environment variable read for the private key's passphrase unless `passphrase_env` names another. */
export const DEFAULT_PASSPHRASE_ENV = 'RAST_BACKUP_PASSPHRASE';

/** The `[encryption]` table as written by the user (validated by the plugin's options). */
export interface EncryptionOptions {
  enabled?: boolean;
  key_path?: string;
  public_key_path?: string;
  passphrase_env?: string;
  passphrase_file?: string;
  recipients?: string[];
}

/** `[encryption]`, normalised: absolute paths, defaults applied. */
export interface EncryptionSettings {
  /** Whether new backups are encrypted. */
  enabled: boolean;
  /** The private key (may be passphrase-protected). Absent on a write-only host. */
  keyPath?: string;
  /** The public key new backups are encrypted to; when absent, the public part of `keyPath`. */
  publicKeyPath?: string;
  /** Name of the environment variable holding the private key's passphrase. */
  passphraseEnv: string;
  /** File holding the private key's passphrase (first line). */
  passphraseFile?: string;
  /** More public keys every new backup is encrypted to as well (an offline recovery key, …). */
  recipients: string[];
  /** The config file, for messages. */
  where: string;
}

/**
 * Encryption is on with `enabled = true`, and also when a key is named and `enabled` is left out (never a
 * silent plaintext backup); `enabled = false` turns it off. With encryption on and neither `key_path` nor
 * `public_key_path`, the seed's `/etc/rast/backup/encryption.key` is used.
 */
export function normaliseSettings(options: EncryptionOptions, configDirectory: string, configFile: string | null): EncryptionSettings {
  const resolve = (file: string | undefined) => (file === undefined ? undefined : path.resolve(configDirectory, file));
  const named = options.key_path !== undefined || options.public_key_path !== undefined;
  const enabled = options.enabled ?? (named || (options.recipients ?? []).length > 0);
  return {
    enabled,
    keyPath: resolve(options.key_path) ?? (enabled && !named ? DEFAULT_KEY_PATH : undefined),
    publicKeyPath: resolve(options.public_key_path),
    passphraseEnv: options.passphrase_env ?? DEFAULT_PASSPHRASE_ENV,
    passphraseFile: resolve(options.passphrase_file),
    recipients: (options.recipients ?? []).map((file) => path.resolve(configDirectory, file)),
    where: configFile ?? 'embedded default config',
  };
}

/** Settings the plugin applied to each pipeline, for its taps and commands (`generate-key`). */
export const encryptionSettings = pluginState<EncryptionSettings>(packageIdentity(import.meta.url).name);

/** Settings the plugin applied to `pipeline`; undefined when it did not apply. */
export function settingsOf(pipeline: Pipeline): EncryptionSettings | undefined {
  return encryptionSettings.get(pipeline);
}
