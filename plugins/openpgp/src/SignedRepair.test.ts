import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { testNeeding } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, fixture, hasGpg, keyPair, writeConfig } from './TestFixtures.js';

const repair = suite('openpgp: repair of an encrypted, signed repository');

testNeeding(repair, hasGpg, 'gpg (GnuPG)', 'a lost index block is rebuilt under new keys and the manifest signed again', async () => {
  const { home, source, config, repository } = await fixture();
  const key = await keyPair(path.join(home, 'keys'));
  await writeConfig(config, repository, `key_path = ${JSON.stringify(key.privateKeyFile)}`);
  const run = (args: string[], state = 'state') =>
    cli([...args, '--config', config], { env: { RAST_BACKUP_STATE_DIR: path.join(home, state) } });
  const created = run(['create', source, '--json']);
  assert.is(created.status, 0, created.stderr);
  const id = JSON.parse(created.stdout).id as string;
  const listing = run(['ls', id]).stdout;
  const manifestFile = path.join(repository, 'backups', `${id}.json`);
  const signatureFile = `${manifestFile}.sig`;
  const [before, signatureBefore] = [await readFile(manifestFile), await readFile(signatureFile)];
  await rm(path.join(repository, 'data', id, 'index.000000'));
  const repaired = run(['repair', id, '--json']);
  assert.is(repaired.status, 0, repaired.stderr);
  const report = JSON.parse(repaired.stdout);
  assert.match(report.backups[0].repaired[0].message, /rebuilt from the backup stream as .*index-r.*signed again/);
  const manifest = JSON.parse(await readFile(manifestFile, 'utf8'));
  assert.ok(!before.equals(await readFile(manifestFile)) && !signatureBefore.equals(await readFile(signatureFile)));
  assert.match(manifest.index.key, new RegExp(`^data/${id}/index-r`));
  assert.is(manifest.signer.fingerprint, key.fingerprint);
  // Another host checks the new signature, reads the rebuilt index and the stream.
  const verified = run(['verify', id], 'other-state');
  assert.is(verified.status, 0, verified.stderr);
  assert.is(run(['ls', id], 'other-state').stdout, listing);
});

testNeeding(
  repair,
  hasGpg,
  'gpg (GnuPG)',
  'without the signing key, a rebuild that changes the manifest is refused and leaves it as it was',
  async () => {
    const { home, source, config, repository } = await fixture();
    const key = await keyPair(path.join(home, 'keys'));
    await writeConfig(config, repository, `key_path = ${JSON.stringify(key.privateKeyFile)}`);
    const env = { env: { RAST_BACKUP_STATE_DIR: path.join(home, 'state') } };
    const created = cli(['create', source, '--json', '--config', config], env);
    const id = JSON.parse(created.stdout).id as string;
    const manifestFile = path.join(repository, 'backups', `${id}.json`);
    const before = await readFile(manifestFile);
    await rm(path.join(repository, 'data', id, 'index.000000'));
    // A write-only host: the public key encrypts, no signing key.
    const writeOnly = path.join(home, 'write-only.toml');
    await writeConfig(
      writeOnly,
      repository,
      `public_key_path = ${JSON.stringify(key.publicKeyFile)}\n\n[signing]\ntrusted = [${JSON.stringify(key.fingerprint)}]`,
    );
    const result = cli(['repair', id, '--config', writeOnly], env);
    assert.is(result.status, 1, result.stderr);
    assert.match(result.stderr, /cannot repair: .*file index/);
    assert.ok(before.equals(await readFile(manifestFile)), 'the manifest is unchanged');
  },
);

repair.run();
