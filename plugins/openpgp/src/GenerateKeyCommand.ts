import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { Option, UsageError } from 'clipanion';
import { BaseCommand } from '@rast-backup/core/command';
import { optionInvalid, secretFileExposure, secretFileUnusable, type Runtime } from '@rast-backup/core';
import { DEFAULT_KEY_PATH, settingsOf } from './EncryptionSettings.js';

/** Where `generate-key --signing` writes without --output. */
export const DEFAULT_SIGNING_KEY_PATH = '/etc/rast/backup/signing.key';

const formatFingerprint = (fingerprint: string) => fingerprint.replace(/(.{4})/g, '$1 ').trim();

/** `rast-backup generate-key`: a new OpenPGP key for `[encryption]`, readable by GnuPG 2.2. */
export class GenerateKeyCommand extends BaseCommand {
  static override paths = [['generate-key']];
  static override usage = BaseCommand.Usage({
    category: 'Encryption',
    description: 'Make a new encryption key (or, with --signing, a host signing key)',
    details: `Writes a new OpenPGP private key (mode 0600) to --output, else to [encryption] key_path, else to ${DEFAULT_KEY_PATH}, and its public key beside it (same name plus .pub); never overwrites a file. The key is Curve25519 (ed25519 + cv25519), usable by GnuPG 2.2 and later, so backups can be recovered with gpg alone. To protect the key with a passphrase, name where the passphrase is (never on the command line): --passphrase-env or --passphrase-file, else [encryption] passphrase_file, else the variable named by passphrase_env (RAST_BACKUP_PASSPHRASE) when it is set.`,
    examples: [
      ['Make the key named by the config', '$0 generate-key'],
      [
        'Make a key elsewhere, protected by the passphrase in $BACKUP_PASS',
        '$0 generate-key --output /root/backup.key --passphrase-env BACKUP_PASS',
      ],
    ],
  });

  output = Option.String('--output,-o', { description: 'Private key file to write (the public key goes to FILE.pub)' });
  userId = Option.String('--user-id', { description: 'User ID of the key (default: rast-backup on <host name>)' });
  passphraseEnv = Option.String('--passphrase-env', { description: 'Protect the key with the passphrase in this environment variable' });
  passphraseFile = Option.String('--passphrase-file', { description: 'Protect the key with the first line of this file' });
  signing = Option.Boolean('--signing', false, {
    description: `Make a host signing key for [signing] key_path (default output ${DEFAULT_SIGNING_KEY_PATH}): signs manifests on a host that has only the public encryption key`,
  });

  private async passphrase(runtime: Runtime): Promise<{ passphrase?: string; source?: string }> {
    if (this.passphraseEnv && this.passphraseFile) throw new UsageError('give --passphrase-env or --passphrase-file, not both');
    const settings = settingsOf(runtime.pipeline);
    const file = this.passphraseFile ? path.resolve(this.passphraseFile) : this.passphraseEnv ? undefined : settings?.passphraseFile;
    if (file) {
      const exposure = await secretFileExposure(file).catch((error: Error) => {
        throw secretFileUnusable('the passphrase file', file, `cannot be read: ${error.message}`);
      });
      if (exposure) throw secretFileUnusable('the passphrase file', file, exposure);
      const passphrase = (await readFile(file, 'utf8')).split(/\r?\n/)[0];
      if (!passphrase) throw secretFileUnusable('the passphrase file', file, 'is empty');
      return { passphrase, source: `file ${file}` };
    }
    const variable = this.passphraseEnv ?? settings?.passphraseEnv;
    const value = variable ? process.env[variable] : undefined;
    if (this.passphraseEnv && !value) throw optionInvalid('--passphrase-env', variable, 'the environment variable is not set or empty');
    return value ? { passphrase: value, source: `environment variable ${variable}` } : {};
  }

  async run(): Promise<number> {
    const runtime = await this.context.runtime();
    if (this.signing) return this.signingKey();
    const settings = settingsOf(runtime.pipeline);
    const output = path.resolve(this.output ?? settings?.keyPath ?? DEFAULT_KEY_PATH);
    const { passphrase, source } = await this.passphrase(runtime);
    const { generateKeyFiles } = await import('./KeyGenerator.js');
    const key = await generateKeyFiles(output, this.userId ?? `rast-backup on ${hostname()}`, passphrase);
    if (this.json) {
      this.context.stdout.write(`${JSON.stringify(key, null, 2)}\n`);
      return 0;
    }
    const configured = settings?.keyPath === output;
    this.context.stdout.write(
      [
        `Private key: ${key.privateKeyFile} (mode 0600${key.protected ? `, protected by the passphrase from the ${source}` : ', no passphrase'})`,
        `Public key:  ${key.publicKeyFile}`,
        `Fingerprint: ${formatFingerprint(key.fingerprint)}`,
        '',
        'Next steps:',
        `  1. Copy the private key OFF this machine now (and the passphrase, if any) and keep it safe:`,
        `     without it no encrypted backup can be restored, by rast-backup or by gpg.`,
        configured
          ? `  2. [encryption] in ${runtime.config.file ?? 'the config'} already names this key: new backups are encrypted to it.`
          : `  2. Configure it:\n       [encryption]\n       enabled = true\n       key_path = ${JSON.stringify(key.privateKeyFile)}\n     or, on a host that should make backups but never read them, copy only the .pub file there and set\n       public_key_path = "<path of the .pub file>"`,
        `  3. Check a restore: rast-backup create <path> && rast-backup restore latest <empty directory>`,
        `     and that GnuPG reads the key: gpg --show-keys ${key.publicKeyFile}`,
        '',
      ].join('\n'),
    );
    return 0;
  }

  /** `--signing`: a host signing key, without passphrase, for [signing] key_path. */
  private async signingKey(): Promise<number> {
    if (this.passphraseEnv || this.passphraseFile)
      throw new UsageError(
        '--signing makes a key without passphrase (create signs unattended): leave out --passphrase-env and --passphrase-file',
      );
    const output = path.resolve(this.output ?? DEFAULT_SIGNING_KEY_PATH);
    const { generateKeyFiles } = await import('./KeyGenerator.js');
    const key = await generateKeyFiles(output, this.userId ?? `rast-backup signing key of ${hostname()}`, undefined, true);
    if (this.json) {
      this.context.stdout.write(`${JSON.stringify(key, null, 2)}\n`);
      return 0;
    }
    this.context.stdout.write(
      [
        `Signing key: ${key.privateKeyFile} (mode 0600, no passphrase)`,
        `Public key:  ${key.publicKeyFile}`,
        `Fingerprint: ${formatFingerprint(key.fingerprint)}`,
        '',
        'Next steps:',
        `  1. On this host:          [signing] key_path = ${JSON.stringify(key.privateKeyFile)}`,
        `  2. On the hosts that restore, trust it: [signing] trusted = ["<the encryption key's fingerprint>", "${key.fingerprint}"]`,
        `  3. To check signatures by hand (docs/recovery.md), keep a copy of ${key.publicKeyFile} with the encryption key.`,
        '',
      ].join('\n'),
    );
    return 0;
  }
}
