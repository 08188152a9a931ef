import { access, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { testNeeding } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, fixture, gnupg, hasGpg, keyPair, writeConfig } from './TestFixtures.js';

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

/**
 * A plugin that wraps every sink and kills its process (SIGKILL) right after a put whose key matches
 * RAST_TEST_CUT_AFTER: a write sequence cut short at that point, as a power cut would.
 */
const CUT_PLUGIN = `export default {
  name: 'rast-backup-plugin-cut-after-put',
  version: '0.0.0',
  activation: 'always',
  apply(pipeline) {
    const pattern = new RegExp(process.env.RAST_TEST_CUT_AFTER);
    pipeline.hooks.sinks.tapPromise('cut-after-put', async (sinks) =>
      sinks.map((sink) => new Proxy(sink, {
        get(target, property) {
          if (property === 'put') return async (key, data, options) => {
            await target.put(key, data, options);
            if (pattern.test(key)) process.kill(process.pid, 'SIGKILL');
          };
          const value = target[property];
          return typeof value === 'function' ? value.bind(target) : value;
        },
      })),
    );
  },
};
`;

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );

testNeeding(
  repair,
  hasGpg,
  'gpg (GnuPG)',
  're-sign cut short after the new manifest is written: the backup still verifies and restores, and repair finishes it',
  async () => {
    const { home, source, config, repository } = await fixture();
    const key = await keyPair(path.join(home, 'keys'));
    await writeConfig(config, repository, `key_path = ${JSON.stringify(key.privateKeyFile)}`);
    const cutConfig = path.join(home, 'cut.toml');
    await writeFile(path.join(home, 'cut.mjs'), CUT_PLUGIN);
    await writeFile(cutConfig, `plugins = ["./cut.mjs"]\n${await readFile(config, 'utf8')}`);
    const run = (args: string[], state = 'state', env: Record<string, string> = {}) =>
      cli(args, { env: { RAST_BACKUP_STATE_DIR: path.join(home, state), ...env } });
    const created = run(['create', source, '--json', '--config', config]);
    assert.is(created.status, 0, created.stderr);
    const id = JSON.parse(created.stdout).id as string;
    const listing = run(['ls', id, '--config', config]).stdout;
    const manifestFile = path.join(repository, 'backups', `${id}.json`);
    const [signatureFile, nextFile] = [`${manifestFile}.sig`, `${manifestFile}.sig.next`];
    const [manifestBefore, signatureBefore] = [await readFile(manifestFile), await readFile(signatureFile)];
    await rm(path.join(repository, 'data', id, 'index.000000'));

    // Killed between the manifest's put and the signature's.
    const cut = run(['repair', id, '--config', cutConfig], 'state', { RAST_TEST_CUT_AFTER: `^backups/${id}\\.json$` });
    assert.is(cut.signal, 'SIGKILL', `${cut.status} ${cut.stderr}`);
    assert.ok(!manifestBefore.equals(await readFile(manifestFile)), 'the new manifest is written');
    assert.ok(signatureBefore.equals(await readFile(signatureFile)), 'the old signature is still beside it');
    const next = await readFile(nextFile);
    assert.ok(!next.equals(signatureBefore));

    // Another host reads it through the new signature.
    const verified = run(['verify', id, '--config', config], 'other-state');
    assert.is(verified.status, 0, verified.stderr);
    assert.match(verified.stderr, `hint: a re-sign of backup ${id}'s manifest was cut short in sink local`);
    assert.match(verified.stderr, `rast-backup repair ${id} finishes it`);
    assert.is(run(['ls', id, '--config', config], 'other-state').stdout, listing);
    const restored = run(['restore', id, path.join(home, 'restored'), '--config', config], 'other-state');
    assert.is(restored.status, 0, restored.stderr);
    assert.ok((await readFile(path.join(home, 'restored', 'sub', 'small'), 'utf8')) === 'small\n');

    // Repair finishes the re-sign: `.sig` holds the new signature, `.sig.next` goes.
    const repaired = run(['repair', id, '--json', '--config', config]);
    assert.is(repaired.status, 0, repaired.stderr);
    const report = JSON.parse(repaired.stdout);
    assert.ok(
      report.backups[0].repaired.some((action: { message: string }) => /re-sign was cut short/.test(action.message)),
      repaired.stdout,
    );
    assert.ok(next.equals(await readFile(signatureFile)));
    assert.not.ok(await exists(nextFile));
    const again = run(['verify', id, '--config', config], 'third-state');
    assert.is(again.status, 0, again.stderr);
    assert.not.match(again.stderr, 'cut short');
    // gpg checks the finished pair with standard tools alone.
    const gpg = await gnupg();
    try {
      assert.is(gpg.run(['--import', key.publicKeyFile]).status, 0);
      const checked = gpg.run(['--verify', signatureFile, manifestFile]);
      assert.is(checked.status, 0, checked.stderr);
    } finally {
      gpg.close();
    }
  },
);

testNeeding(
  repair,
  hasGpg,
  'gpg (GnuPG)',
  're-sign cut short after its first write: the old pair still verifies; repair and delete remove what it left',
  async () => {
    const { home, source, config, repository } = await fixture();
    const key = await keyPair(path.join(home, 'keys'));
    await writeConfig(config, repository, `key_path = ${JSON.stringify(key.privateKeyFile)}`);
    const cutConfig = path.join(home, 'cut.toml');
    await writeFile(path.join(home, 'cut.mjs'), CUT_PLUGIN);
    await writeFile(cutConfig, `plugins = ["./cut.mjs"]\n${await readFile(config, 'utf8')}`);
    const run = (args: string[], state = 'state', env: Record<string, string> = {}) =>
      cli(args, { env: { RAST_BACKUP_STATE_DIR: path.join(home, state), ...env } });
    const created = run(['create', source, '--json', '--config', config]);
    const id = JSON.parse(created.stdout).id as string;
    const manifestFile = path.join(repository, 'backups', `${id}.json`);
    const nextFile = `${manifestFile}.sig.next`;
    const manifestBefore = await readFile(manifestFile);
    await rm(path.join(repository, 'data', id, 'index.000000'));
    const cut = run(['repair', id, '--config', cutConfig], 'state', { RAST_TEST_CUT_AFTER: `^backups/${id}\\.json\\.sig\\.next$` });
    assert.is(cut.signal, 'SIGKILL', `${cut.status} ${cut.stderr}`);
    assert.ok(manifestBefore.equals(await readFile(manifestFile)), 'the manifest is the old one');
    assert.ok(await exists(nextFile));
    // Still authenticated (its lost index block is the damage repair is for).
    const listed = JSON.parse(run(['list', '--json', '--config', config], 'other-state').stdout);
    assert.is(listed[0].signature, 'signed');
    const repaired = run(['repair', id, '--config', config]);
    assert.is(repaired.status, 0, repaired.stderr);
    assert.not.ok(await exists(nextFile));
    assert.is(run(['verify', id, '--config', config], 'other-state').status, 0);
    // delete removes a `.sig.next` left beside a manifest too.
    await writeFile(nextFile, 'left by a re-sign cut short');
    const deleted = run(['delete', id, '--config', config]);
    assert.is(deleted.status, 0, deleted.stderr);
    const left = await readdir(path.join(repository, 'backups')).catch(() => []);
    assert.equal(left, []);
  },
);

repair.run();
