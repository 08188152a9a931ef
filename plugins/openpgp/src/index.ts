import { definePlugin, packageIdentity, type TransformDecoder } from '@rast-backup/core';
import * as t from 'typanion';
import { normaliseSettings, registerSettings } from './EncryptionSettings.js';
import { GenerateKeyCommand } from './GenerateKeyCommand.js';
import { recipientsOf } from './Recipients.js';

const { name: PLUGIN_NAME, version: VERSION } = packageIdentity(import.meta.url);

export { settingsOf, DEFAULT_KEY_PATH, DEFAULT_PASSPHRASE_ENV, type EncryptionSettings } from './EncryptionSettings.js';
export { GenerateKeyCommand } from './GenerateKeyCommand.js';

const isPath = () => t.cascade(t.isString(), [t.hasMinLength(1)]);

/**
 * `[encryption]`: every part and the file index of new backups become OpenPGP messages to one key, readable
 * by GnuPG. Always loaded, so that `generate-key` exists before encryption is configured and that encrypted
 * backups name the key they need; openpgp.js itself is imported only when a part is encrypted or decrypted.
 */
export default definePlugin({
  name: PLUGIN_NAME,
  version: VERSION,
  configKey: 'encryption',
  activation: 'always',
  options: {
    /** Encrypt new backups. Defaults to true when a key is named. */
    enabled: t.isOptional(t.isBoolean()),
    /** Private key file (mode 0600), from `rast-backup generate-key`; needed to read backups. */
    key_path: t.isOptional(isPath()),
    /** Public key file, for a host that makes backups but must not read them. */
    public_key_path: t.isOptional(isPath()),
    /** Environment variable holding the private key's passphrase (default RAST_BACKUP_PASSPHRASE). */
    passphrase_env: t.isOptional(t.cascade(t.isString(), [t.matchesRegExp(/^[A-Za-z_][A-Za-z0-9_]*$/)])),
    /** File (mode 0600) whose first line is the private key's passphrase. */
    passphrase_file: t.isOptional(isPath()),
    /** More public key files every new backup is also encrypted to (e.g. an offline recovery key); any one private key reads it. */
    recipients: t.isOptional(t.isArray(isPath())),
  },
  commands: [GenerateKeyCommand],
  apply(pipeline, options, context) {
    const settings = normaliseSettings(options, context.configDirectory, context.configFile);
    registerSettings(pipeline, settings);
    const modules = () => import('./OpenPgpTransform.js');
    let decoder: Promise<TransformDecoder> | undefined;
    const loaded = () => (decoder ??= modules().then((module) => module.createDecryption(settings)));
    pipeline.hooks.untransform.for('openpgp').tap(PLUGIN_NAME, () => ({
      // openpgp.js is loaded on the first part, to find its session key.
      worker: {
        module: new URL('./DecryptionStage.js', import.meta.url).href,
        prepare: async (data, params) => (await loaded()).worker.prepare!(data, params),
      },
      ready: async (params) => (await loaded()).ready?.(params),
    }));
    pipeline.hooks.describe.tap(PLUGIN_NAME, (facts, manifest) => {
      const params = manifest.transforms.find((transform) => transform.name === 'openpgp')?.params;
      const recipients = params ? recipientsOf(params) : [];
      return recipients.length > 0 ? { ...facts, 'encrypted to': recipients.join(', ') } : facts;
    });
    if (!settings.enabled) return;
    pipeline.hooks.transforms.tapPromise(PLUGIN_NAME, async (transforms) => [
      ...transforms,
      await (await modules()).createEncryption(settings, `${PLUGIN_NAME}@${VERSION}`),
    ]);
  },
});
