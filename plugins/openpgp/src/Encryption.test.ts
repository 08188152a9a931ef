import { spawnSync } from 'node:child_process';
import { chmod, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createBackup, ErrorCode, restoreBackup, verifyBackup, type RastError } from '@rast-backup/core';
import { temporaryDirectory, testNeeding } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKeyFiles } from './KeyGenerator.js';
import { fixture, gnupg, hasGpg, keyPair, MARKER, runtime, storedFiles, writeConfig } from './TestFixtures.js';

async function rejects(promise: Promise<unknown>, code: ErrorCode, message: RegExp): Promise<RastError> {
  try {
    await promise;
  } catch (error) {
    assert.is((error as RastError).code, code, (error as Error).message);
    assert.match((error as Error).message, message);
    return error as RastError;
  }
  throw new assert.Assertion({ message: `expected ${code}`, operator: 'rejects', expects: code, actual: 'success' });
}

async function sameTree(restored: string, source: string): Promise<void> {
  const names = (await readdir(source, { recursive: true })).sort();
  assert.equal((await readdir(restored, { recursive: true })).sort(), names);
  for (const name of ['marked.txt', `${MARKER}.name`, 'sub/random.bin', 'sub/small']) {
    assert.ok((await readFile(path.join(restored, name))).equals(await readFile(path.join(source, name))), name);
  }
}

const containsMarker = (bytes: Buffer) => bytes.includes(MARKER) || bytes.includes(Buffer.from(MARKER, 'utf16le'));

// ---

const roundTrip = suite('openpgp: encrypted directory backups');

roundTrip(
  'a chain of two encrypted backups restores exactly; the manifest records the recipient; no stored byte holds the plaintext marker',
  async () => {
    const { home, source, config, repository } = await fixture();
    const key = await keyPair(path.join(home, 'keys'));
    await writeConfig(config, repository, `enabled = true\nkey_path = ${JSON.stringify(key.privateKeyFile)}`);
    const rt = await runtime(config);
    const full = await createBackup(rt, { path: source });
    await writeFile(path.join(source, 'sub', 'small'), 'changed\n');
    const incremental = await createBackup(rt, { path: source, parent: 'latest' });
    assert.is(incremental.parent, full.id);

    const transform = incremental.transforms.at(-1)!;
    assert.equal(
      [transform.name, transform.stage, transform.params.recipient, transform.params.packet],
      ['openpgp', 200, key.fingerprint, 'SEIPDv1'],
    );
    assert.equal(
      incremental.transforms.map((t) => t.name),
      ['zstd', 'openpgp'],
      'compressed, then encrypted',
    );

    const stored = await storedFiles(path.join(repository, 'data'));
    assert.ok(stored.length >= 5);
    for (const { file, bytes } of stored) assert.not.ok(containsMarker(bytes), `${file} holds the plaintext marker`);
    for (const { file, bytes } of stored) assert.is(bytes[0], 0xc1, `${file} starts with a public-key encrypted session key packet`);

    await verifyBackup(rt, { backup: incremental.id });
    const destination = path.join(home, 'restored');
    await restoreBackup(rt, { backup: incremental.id, destination });
    await sameTree(destination, source);
  },
);

roundTrip('control: without encryption the marker is visible in the stored bytes (so the test above can see it)', async () => {
  const { source, config, repository } = await fixture();
  await createBackup(await runtime(config), { path: source });
  assert.ok((await storedFiles(path.join(repository, 'data'))).some(({ bytes }) => containsMarker(bytes)));
});

roundTrip('enabled = false writes unencrypted backups and still reads encrypted ones with the key', async () => {
  const { home, source, config, repository } = await fixture();
  const key = await keyPair(path.join(home, 'keys'));
  await writeConfig(config, repository, `key_path = ${JSON.stringify(key.privateKeyFile)}`);
  const encrypted = await createBackup(await runtime(config), { path: source });
  assert.is(encrypted.transforms.at(-1)!.name, 'openpgp', 'a named key turns encryption on');
  await writeConfig(config, repository, `enabled = false\nkey_path = ${JSON.stringify(key.privateKeyFile)}`);
  const rt = await runtime(config);
  const plain = await createBackup(rt, { path: source });
  assert.equal(
    plain.transforms.map((t) => t.name),
    ['zstd'],
  );
  await restoreBackup(rt, { backup: encrypted.id, destination: path.join(home, 'restored') });
  await sameTree(path.join(home, 'restored'), source);
});

roundTrip.run();

// ---

const failClosed = suite('openpgp: fail closed');

async function assertNothingWritten(repository: string) {
  const files = await storedFiles(repository).catch(() => []);
  assert.equal(
    files.map(({ file }) => file),
    [],
    'nothing written to the repository',
  );
}

failClosed('a missing key file refuses to create and writes nothing', async () => {
  const { home, source, config, repository } = await fixture(`enabled = true\nkey_path = "keys/missing.key"`);
  await rejects(
    createBackup(await runtime(config), { path: source }),
    ErrorCode.CONFIG_INVALID,
    new RegExp(
      `encryption\\.key_path: cannot read ${home}/keys/missing\\.key: no such file \\(create a key with: rast-backup generate-key\\)`,
    ),
  );
  await assertNothingWritten(repository);
});

failClosed('a private key readable by group or others is refused with the chmod that fixes it', async () => {
  const { home, source, config, repository } = await fixture();
  const key = await keyPair(path.join(home, 'keys'));
  await writeConfig(config, repository, `enabled = true\nkey_path = ${JSON.stringify(key.privateKeyFile)}`);
  await chmod(key.privateKeyFile, 0o640);
  await rejects(
    createBackup(await runtime(config), { path: source }),
    ErrorCode.CONFIG_INVALID,
    new RegExp(
      `readable by its group \\S+ \\(mode 0640\\): only the group rast-backup may share a secret; run: chmod 600 ${key.privateKeyFile}`,
    ),
  );
  await assertNothingWritten(repository);
});

failClosed('a file that is not a key, a public key given as key_path, or two different keys are refused', async () => {
  const { home, source, config, repository } = await fixture();
  const key = await keyPair(path.join(home, 'keys'));
  const other = await keyPair(path.join(home, 'keys'), 'other.key');
  const garbage = path.join(home, 'keys', 'garbage.key');
  await writeFile(garbage, 'not a key', { mode: 0o600 });
  await writeConfig(config, repository, `key_path = ${JSON.stringify(garbage)}`);
  await rejects(createBackup(await runtime(config), { path: source }), ErrorCode.CONFIG_INVALID, /garbage\.key is not an OpenPGP key/);
  await chmod(key.publicKeyFile, 0o600);
  await writeConfig(config, repository, `key_path = ${JSON.stringify(key.publicKeyFile)}`);
  await rejects(
    createBackup(await runtime(config), { path: source }),
    ErrorCode.CONFIG_INVALID,
    /holds a public key, not a private one: .*public_key_path/,
  );
  await writeConfig(
    config,
    repository,
    `key_path = ${JSON.stringify(key.privateKeyFile)}\npublic_key_path = ${JSON.stringify(other.publicKeyFile)}`,
  );
  await rejects(createBackup(await runtime(config), { path: source }), ErrorCode.CONFIG_INVALID, /they must be the same key/);
  await assertNothingWritten(repository);
});

failClosed('restoring with the wrong key names the key the backup needs', async () => {
  const { home, source, config, repository } = await fixture();
  const key = await keyPair(path.join(home, 'keys'));
  const other = await keyPair(path.join(home, 'keys'), 'other.key');
  await writeConfig(config, repository, `key_path = ${JSON.stringify(key.privateKeyFile)}`);
  const backup = await createBackup(await runtime(config), { path: source });
  await writeConfig(config, repository, `key_path = ${JSON.stringify(other.privateKeyFile)}`);
  const spaced = key.fingerprint.replace(/(.{4})/g, '$1 ').trim();
  const destination = path.join(home, 'restored');
  // Signed by a key this config does not trust: refused before any part is read.
  await rejects(
    restoreBackup(await runtime(config), { backup: backup.id, destination }),
    ErrorCode.BACKUP_UNAUTHENTICATED,
    new RegExp(`signed by key ${spaced}, which this host does not trust`),
  );
  await writeConfig(
    config,
    repository,
    `key_path = ${JSON.stringify(other.privateKeyFile)}\n\n[signing]\ntrusted = [${JSON.stringify(key.fingerprint)}]`,
  );
  await rejects(
    restoreBackup(await runtime(config), { backup: backup.id, destination }),
    ErrorCode.TRANSFORM_FAILED,
    new RegExp(
      `encrypted to key ${spaced}, but encryption\\.key_path \\(.*other\\.key\\) is key .*: set key_path to the private key ${key.fingerprint}`,
    ),
  );
  await writeConfig(config, repository);
  await rejects(
    restoreBackup(await runtime(config), { backup: backup.id, destination }),
    ErrorCode.TRANSFORM_FAILED,
    new RegExp(`encrypted to key ${spaced}: set \\[encryption\\] key_path`),
  );
});

failClosed(
  'a part altered after the manifest was written is caught by its SHA-256; re-encrypted content is caught by OpenPGP integrity',
  async () => {
    const { home, source, config, repository } = await fixture();
    const key = await keyPair(path.join(home, 'keys'));
    await writeConfig(config, repository, `key_path = ${JSON.stringify(key.privateKeyFile)}`);
    const rt = await runtime(config);
    const backup = await createBackup(rt, { path: source });
    const partFile = path.join(repository, backup.parts[0]!.key);
    const bytes = await readFile(partFile);
    bytes[bytes.length - 30]! ^= 1;
    await writeFile(partFile, bytes);
    await rejects(restoreBackup(rt, { backup: backup.id, destination: path.join(home, 'one') }), ErrorCode.PART_DAMAGED, /SHA-256/);
    // Fix up the manifest's hash, as an attacker with write access could: the MDC still refuses the part.
    const manifestFile = path.join(repository, 'backups', `${backup.id}.json`);
    const { sha256 } = await import('@rast-backup/core');
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8'));
    manifest.parts[0].sha256 = await sha256(bytes);
    await writeFile(manifestFile, JSON.stringify(manifest));
    // The manifest's signature refuses the edit; with signing off, the MDC still refuses the part.
    await rejects(
      restoreBackup(await runtime(config), { backup: backup.id, destination: path.join(home, 'two') }),
      ErrorCode.BACKUP_UNAUTHENTICATED,
      /signature does not verify/,
    );
    await writeConfig(config, repository, `key_path = ${JSON.stringify(key.privateKeyFile)}\n\n[signing]\nenabled = false`);
    await rejects(
      restoreBackup(await runtime(config), { backup: backup.id, destination: path.join(home, 'two') }),
      ErrorCode.PART_DAMAGED,
      /openpgp could not decode it/,
    );
  },
);

failClosed.run();

// ---

const writeOnly = suite('openpgp: write-only host');

writeOnly('with only the public key, full and incremental creates work; restore and verify say the private key is needed', async () => {
  const { home, source, config, repository } = await fixture();
  const key = await keyPair(path.join(home, 'keys'));
  const signingKey = await generateKeyFiles(path.join(home, 'keys', 'signing.key'), 'host signing key', undefined, true);
  await writeConfig(
    config,
    repository,
    `enabled = true\npublic_key_path = ${JSON.stringify(key.publicKeyFile)}\n\n[signing]\nkey_path = ${JSON.stringify(signingKey.privateKeyFile)}`,
  );
  const rt = await runtime(config);
  const backup = await createBackup(rt, { path: source });
  assert.is(backup.transforms.at(-1)!.params.recipient, key.fingerprint);
  for (const { bytes } of await storedFiles(path.join(repository, 'data'))) assert.not.ok(containsMarker(bytes));
  const needed =
    /this host has only a public key \(encryption\.public_key_path in .*\): it can make backups but not read them.*set encryption\.key_path/;
  await rejects(restoreBackup(rt, { backup: backup.id, destination: path.join(home, 'restored') }), ErrorCode.TRANSFORM_FAILED, needed);
  const failed = await rejects(verifyBackup(rt, { backup: backup.id }), ErrorCode.CANNOT_CHECK, needed);
  const report = failed.facts.report as { status: string; sinks: Array<{ problems: string[] }>; undecodable: { code: string } };
  assert.equal(
    [report.status, report.undecodable.code, report.sinks[0]!.problems],
    ['unchecked', ErrorCode.TRANSFORM_FAILED, []],
    'the stored bytes themselves are intact; the stream is not checked, not damaged',
  );
  // The parent's index is encrypted to a key this host lacks: the incremental uses the host's own copy of it.
  await writeFile(path.join(source, 'added-on-a-write-only-host'), 'new');
  const incremental = await createBackup(rt, { path: source, parent: 'latest' });
  assert.is(incremental.parent, backup.id);
  assert.ok(incremental.size < backup.size, 'the incremental holds only what changed');

  await writeConfig(
    config,
    repository,
    `key_path = ${JSON.stringify(key.privateKeyFile)}\n\n[signing]\ntrusted = [${JSON.stringify(key.fingerprint)}, ${JSON.stringify(signingKey.fingerprint)}]`,
  );
  await restoreBackup(await runtime(config), { backup: incremental.id, destination: path.join(home, 'restored') });
  await sameTree(path.join(home, 'restored'), source);
});

writeOnly.run();

// ---

const passphrase = suite('openpgp: passphrase-protected keys');

passphrase('the passphrase comes from the environment variable or from a private file; missing or wrong is a clear error', async () => {
  const { home, source, config, repository } = await fixture();
  const key = await keyPair(path.join(home, 'keys'), 'locked.key', 'correct horse battery');
  const base = `key_path = ${JSON.stringify(key.privateKeyFile)}\npassphrase_env = "RAST_TEST_PASSPHRASE"`;
  await writeConfig(config, repository, base);
  // The encryption key signs the manifest: create needs the passphrase too.
  delete process.env.RAST_TEST_PASSPHRASE;
  await rejects(
    createBackup(await runtime(config), { path: source }),
    ErrorCode.CONFIG_INVALID,
    /locked\.key is protected by a passphrase: put it in the environment variable RAST_TEST_PASSPHRASE/,
  );
  await assertNothingWritten(repository);
  process.env.RAST_TEST_PASSPHRASE = 'correct horse battery';
  const backup = await createBackup(await runtime(config), { path: source });
  const restore = async (name: string) => restoreBackup(await runtime(config), { backup: backup.id, destination: path.join(home, name) });

  delete process.env.RAST_TEST_PASSPHRASE;
  await rejects(
    restore('a'),
    ErrorCode.CONFIG_INVALID,
    /locked\.key is protected by a passphrase: put it in the environment variable RAST_TEST_PASSPHRASE/,
  );
  process.env.RAST_TEST_PASSPHRASE = 'wrong';
  await rejects(
    restore('b'),
    ErrorCode.CONFIG_INVALID,
    /the passphrase from the environment variable RAST_TEST_PASSPHRASE does not unlock/,
  );
  process.env.RAST_TEST_PASSPHRASE = 'correct horse battery';
  await restore('c');
  await sameTree(path.join(home, 'c'), source);
  delete process.env.RAST_TEST_PASSPHRASE;

  const passphraseFile = path.join(home, 'keys', 'passphrase');
  await writeFile(passphraseFile, 'correct horse battery\n', { mode: 0o644 });
  await writeConfig(config, repository, `${base}\npassphrase_file = ${JSON.stringify(passphraseFile)}`);
  await rejects(restore('d'), ErrorCode.CONFIG_INVALID, /encryption\.passphrase_file: .*passphrase is accessible by others \(mode 0644\)/);
  await chmod(passphraseFile, 0o600);
  await restore('e');
  await sameTree(path.join(home, 'e'), source);
});

testNeeding(
  passphrase,
  hasGpg,
  'gpg (GnuPG)',
  'gpg imports a passphrase-protected key and decrypts a part with the passphrase',
  async () => {
    const { home, source, config, repository } = await fixture();
    const key = await keyPair(path.join(home, 'keys'), 'locked.key', 'correct horse battery');
    await writeConfig(config, repository, `key_path = ${JSON.stringify(key.privateKeyFile)}\npassphrase_env = "RAST_TEST_PASSPHRASE"`);
    process.env.RAST_TEST_PASSPHRASE = 'correct horse battery';
    const backup = await createBackup(await runtime(config), { path: source }).finally(() => delete process.env.RAST_TEST_PASSPHRASE);
    const gpg = await gnupg();
    try {
      assert.is(gpg.run(['--import', key.privateKeyFile]).status, 0);
      const passphraseFile = path.join(await temporaryDirectory(), 'pass');
      await writeFile(passphraseFile, 'correct horse battery\n', { mode: 0o600 });
      const wrong = gpg.run(['--pinentry-mode', 'loopback', '--passphrase', 'nope', '--decrypt', path.join(repository, backup.index.key)]);
      assert.is.not(wrong.status, 0);
      const right = gpg.run([
        '--pinentry-mode',
        'loopback',
        '--passphrase-file',
        passphraseFile,
        '--decrypt',
        path.join(repository, backup.index.key),
      ]);
      assert.is(right.status, 0, right.stderr);
      const index = spawnSync('zstd', ['-d', '-q'], { input: right.stdout }).stdout.toString();
      assert.ok(index.startsWith(`{"format":"rast-backup/index","version":2,"backupId":"${backup.id}"`), index.slice(0, 80));
    } finally {
      gpg.close();
    }
  },
);

passphrase.run();
