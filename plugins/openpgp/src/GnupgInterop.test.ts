import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { temporaryDirectory, testNeeding } from '@rast-backup/core/testing';
import * as openpgp from 'openpgp';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { decodePart, encodeHere } from '@rast-backup/core';
import { decryptionWorker, encryptionWorker } from './OpenPgpTransform.js';
import { cli, fixture, gnupg, hasGpg, keyPair, writeConfig, type Result } from './TestFixtures.js';

function assertFails(result: Result, status: number, message: RegExp) {
  assert.is(result.status, status, `expected exit ${status}, got ${result.status}: ${result.stderr}`);
  assert.match(result.stderr, message);
  assert.not.match(result.stderr, /^\s+at /m, 'no stack trace');
}

// ---

const generate = suite('openpgp: generate-key');

generate('writes the key named by [encryption] key_path (0600) and its public key, prints the fingerprint; never overwrites', async () => {
  const { home, config, repository } = await fixture();
  const keyFile = path.join(home, 'etc', 'encryption.key');
  await writeConfig(config, repository, `enabled = true\nkey_path = ${JSON.stringify(keyFile)}`);
  const made = cli(['generate-key', '--config', config]);
  assert.is(made.status, 0, made.stderr);
  assert.is((await stat(keyFile)).mode & 0o777, 0o600);
  assert.is((await stat(`${keyFile}.pub`)).mode & 0o022, 0, 'the public key is not writable by others');
  const fingerprint = /Fingerprint: ((?:[0-9A-F]{4} ?){10})/.exec(made.stdout)?.[1]?.replace(/ /g, '');
  assert.ok(fingerprint, made.stdout);
  assert.match(made.stdout, /Copy the private key OFF this machine/);
  const key = await openpgp.readKey({ armoredKey: await readFile(`${keyFile}.pub`, 'utf8') });
  assert.is(key.getFingerprint().toUpperCase(), fingerprint);
  assert.not.ok(key.isPrivate());

  const before = await readFile(keyFile);
  assertFails(cli(['generate-key', '--config', config]), 1, /RB009: .*encryption\.key already exists: refusing to overwrite a key/);
  assert.ok((await readFile(keyFile)).equals(before));
});

generate('is available without [encryption] (with --output), and --json describes the key', async () => {
  const { home, config } = await fixture();
  const output = path.join(home, 'elsewhere', 'backup.key');
  const result = JSON.parse(cli(['generate-key', '--output', output, '--json', '--config', config]).stdout);
  assert.equal(Object.keys(result).sort(), ['fingerprint', 'privateKeyFile', 'protected', 'publicKeyFile']);
  assert.is(result.privateKeyFile, output);
  assert.is(result.protected, false);
  assert.ok((await openpgp.readKey({ armoredKey: await readFile(output, 'utf8') })).isPrivate());
});

generate('protects the key with a passphrase named by --passphrase-env, never taken from a flag value', async () => {
  const { home, config } = await fixture();
  const output = path.join(home, 'locked.key');
  assertFails(
    cli(['generate-key', '--output', output, '--passphrase-env', 'RAST_TEST_UNSET', '--config', config]),
    2,
    /RB007: --passphrase-env RAST_TEST_UNSET: the environment variable is not set/,
  );
  const made = cli(['generate-key', '--output', output, '--passphrase-env', 'RAST_TEST_PASS', '--json', '--config', config], {
    env: { RAST_TEST_PASS: 'secret words' },
  });
  assert.is(JSON.parse(made.stdout).protected, true);
  const key = await openpgp.readPrivateKey({ armoredKey: await readFile(output, 'utf8') });
  assert.not.ok(key.isDecrypted());
  assert.ok((await openpgp.decryptKey({ privateKey: key, passphrase: 'secret words' })).isDecrypted());
});

generate.run();

// ---

const cliErrors = suite('openpgp: the CLI fails closed');

cliErrors('create with a missing key exits 2 naming the key, and writes nothing', async () => {
  const { home, config, repository, source } = await fixture();
  await writeConfig(config, repository, `enabled = true\nkey_path = ${JSON.stringify(path.join(home, 'nokey'))}`);
  assertFails(cli(['create', source, '--config', config]), 2, /RB002: .*encryption\.key_path: cannot read .*nokey: no such file/);
  assert.is(spawnSync('find', [repository, '-type', 'f']).stdout.toString(), '');
});

cliErrors.run();

// ---

const interop = suite('openpgp: GnuPG interoperability');

testNeeding(
  interop,
  hasGpg,
  'gpg (GnuPG)',
  'gpg imports the generated key as ed25519 + cv25519 and decrypts parts of every size; openpgp.js reads what gpg encrypts',
  async () => {
    const directory = await temporaryDirectory();
    const key = await keyPair(directory);
    const gpg = await gnupg();
    try {
      assert.is(gpg.run(['--import', key.privateKeyFile]).status, 0);
      const listing = gpg.run(['--with-colons', '--list-secret-keys']).stdout.toString();
      assert.match(listing, new RegExp(`fpr:+${key.fingerprint}:`));
      assert.match(listing, /^sec:.*:ed25519:/m);
      assert.match(listing, /^ssb:[^:]*:255:18:.*:e:.*:cv25519:/m);

      const recipient = await openpgp.readKey({ armoredKey: await readFile(key.publicKeyFile, 'utf8') });
      // Sizes around the packet length encodings (1, 2 and 5 octets) and a multi-MiB part.
      for (const size of [0, 1, 150, 191, 192, 8000, 8383, 8384, 65536, 3 * 1024 * 1024 + 7]) {
        const data = randomBytes(size);
        const message = await encodeHere(encryptionWorker(recipient), Buffer.from(data));
        const file = path.join(directory, `part-${size}`);
        await writeFile(file, message);
        const decrypted = gpg.run(['--quiet', '--decrypt', file]);
        assert.is(decrypted.status, 0, decrypted.stderr);
        assert.ok(decrypted.stdout.equals(data), `gpg decrypts a ${size}-byte part`);
        assert.not.match(decrypted.stderr, /WARNING: message was not integrity protected/);
      }
      const packets = gpg.run(['--list-packets', path.join(directory, 'part-150')]).stdout.toString();
      assert.match(packets, /:pubkey enc packet: version 3, algo 18/);
      assert.match(packets, /:encrypted data packet:\n\s+length: \d+\n\s+mdc_method: 2/, 'SEIPD version 1, with an MDC');

      const plain = randomBytes(100_000);
      const encrypted = spawnSync('gpg', ['--batch', '--trust-model', 'always', '--encrypt', '--recipient', key.fingerprint], {
        env: gpg.env,
        input: plain,
      });
      assert.is(encrypted.status, 0, String(encrypted.stderr));
      const privateKey = await openpgp.readPrivateKey({ armoredKey: await readFile(key.privateKeyFile, 'utf8') });
      assert.ok((await decodePart(decryptionWorker(privateKey), encrypted.stdout, {})).equals(plain));
    } finally {
      gpg.close();
    }
  },
);

interop.run();
