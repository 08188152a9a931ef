import { spawnSync } from 'node:child_process';
import { copyFile, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { temporaryDirectory, testNeeding } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKeyFiles } from './KeyGenerator.js';
import { cli, fixture, gnupg, hasGpg, keyPair, ROOT, writeConfig, type Result } from './TestFixtures.js';

type Json = Record<string, any>;

/** An encrypted repository with two full backups of the same tree (V1, V2, three parts each) and an incremental on V1. */
async function repository(signing = '') {
  const { home, source, config, repository } = await fixture();
  const key = await keyPair(path.join(home, 'keys'));
  await writeConfig(config, repository, `key_path = ${JSON.stringify(key.privateKeyFile)}${signing}`);
  const state = path.join(home, 'state');
  const run = (args: string[], stateDirectory = state) =>
    cli([...args, '--config', config], { env: { RAST_BACKUP_STATE_DIR: stateDirectory } });
  /** Another host reading the repository: no manifest read before. */
  const fresh = async (args: string[]) => run(args, await temporaryDirectory('rast-state-'));
  const create = (extra: string[] = []) => {
    const result = run(['create', source, '--json', ...extra]);
    assert.is(result.status, 0, result.stderr);
    return JSON.parse(result.stdout) as Json;
  };
  return { home, source, config, repository, key, run, fresh, create };
}

const manifestFile = (repo: string, id: string) => path.join(repo, 'backups', `${id}.json`);
const readManifest = async (repo: string, id: string): Promise<Json> => JSON.parse(await readFile(manifestFile(repo, id), 'utf8'));
const writeManifest = (repo: string, id: string, manifest: Json) =>
  writeFile(manifestFile(repo, id), JSON.stringify(manifest, null, 2) + '\n');
const partFile = (repo: string, key: string) => path.join(repo, key);

/** Refused by restore and verify: exit 1, the error names the backup, and nothing is written into the destination. */
async function refused(fresh: (args: string[]) => Promise<Result>, home: string, id: string, code: RegExp) {
  const destination = path.join(home, `restore-${Math.random().toString(36).slice(2)}`);
  const restore = await fresh(['restore', id, destination]);
  assert.is(restore.status, 1, restore.stderr);
  assert.match(restore.stderr, code);
  assert.match(restore.stderr, id);
  assert.is(restore.stderr.trim().split('\n').length, 1, restore.stderr);
  assert.is(await readdir(destination).catch(() => 'absent'), 'absent', 'nothing written into the destination');
  const verify = await fresh(['verify', id]);
  assert.is(verify.status, 1, verify.stderr);
  assert.match(verify.stderr, id);
}

// ---

const tamper = suite('signing: tampered repositories are refused');

testNeeding(tamper, hasGpg, 'gpg', "a part swapped with another backup's, with a matching manifest edit, is refused", async () => {
  const { home, repository: repo, fresh, create } = await repository();
  const v1 = create();
  const v2 = create();
  const m1 = await readManifest(repo, v1.id);
  const m2 = await readManifest(repo, v2.id);
  await copyFile(partFile(repo, m2.parts[0].key), partFile(repo, m1.parts[0].key));
  m1.parts[0] = { ...m2.parts[0], key: m1.parts[0].key };
  await writeManifest(repo, v1.id, m1);
  await refused(fresh, home, v1.id, /RB027.*signature does not verify/);
  const list = JSON.parse((await fresh(['list', '--json'])).stdout) as Json[];
  assert.equal(
    list.map((entry) => [entry.id, entry.status, entry.signature]),
    [
      [v1.id, 'unauthenticated', 'refused'],
      [v2.id, 'complete', 'signed'],
    ],
  );
  assert.match((await fresh(['list'])).stdout, new RegExp(`unauthenticated: backup ${v1.id} is refused`));
  for (const command of [
    ['ls', v1.id],
    ['info', v1.id],
  ]) {
    const result = await fresh(command);
    assert.is(result.status, 1, `${command[0]}: ${result.stderr}`);
    assert.match(result.stderr, /RB027/);
  }
});

testNeeding(
  tamper,
  hasGpg,
  'gpg',
  'a part moved to another backup or position is refused by its binding even with signing off',
  async () => {
    const { home, repository: repo, config, key, fresh, create } = await repository();
    const v1 = create();
    const v2 = create();
    const m1 = await readManifest(repo, v1.id);
    const m2 = await readManifest(repo, v2.id);
    assert.ok(m1.parts.length >= 3, 'several parts');
    assert.is(m1.transforms.at(-1).params.literalName, 'key');
    // Signing off: only the binding inside the encrypted payload can tell.
    await writeConfig(config, repo, `key_path = ${JSON.stringify(key.privateKeyFile)}\n\n[signing]\nenabled = false`);
    // Part 1 of V1 and part 2 of V1 swap places, the manifest following them.
    const [first, second] = [m1.parts[0], m1.parts[1]];
    const firstBytes = await readFile(partFile(repo, first.key));
    await copyFile(partFile(repo, second.key), partFile(repo, first.key));
    await writeFile(partFile(repo, second.key), firstBytes);
    m1.parts[0] = { ...second, key: first.key };
    m1.parts[1] = { ...first, key: second.key };
    await writeManifest(repo, v1.id, m1);
    const destination = path.join(home, 'moved');
    const restore = await fresh(['restore', v1.id, destination]);
    assert.is(restore.status, 1, restore.stderr);
    assert.match(restore.stderr, new RegExp(`RB014.*backup ${v1.id}, part 1 of .*moved to another backup or position`));
    const verify = await fresh(['verify', v1.id]);
    assert.is(verify.status, 1);
    // V2's last part put in V1's last place.
    const last = m1.parts.length - 1;
    await copyFile(partFile(repo, m2.parts[last].key), partFile(repo, m1.parts[last].key));
    m1.parts[last] = { ...m2.parts[last], key: m1.parts[last].key };
    await writeManifest(repo, v1.id, m1);
    assert.match((await fresh(['verify', v1.id])).stdout + (await fresh(['verify', v1.id])).stderr, /moved to another backup or position/);
    // With signing on, the same edits are refused at the manifest, before any part is read.
    await writeConfig(config, repo, `key_path = ${JSON.stringify(key.privateKeyFile)}`);
    await refused(fresh, home, v1.id, /RB027/);
  },
);

testNeeding(tamper, hasGpg, 'gpg', "a manifest replaced by another backup's with its id changed is refused", async () => {
  const { home, repository: repo, fresh, create } = await repository();
  const v1 = create();
  const v2 = create();
  const m2 = await readManifest(repo, v2.id);
  const forged = JSON.parse(JSON.stringify(m2).replaceAll(v2.id, v1.id));
  for (const part of m2.parts) await copyFile(partFile(repo, part.key), partFile(repo, part.key.replace(v2.id, v1.id)));
  await writeManifest(repo, v1.id, forged);
  await refused(fresh, home, v1.id, /RB027.*signature does not verify/);
  // Its signature brought along too: it signs other bytes.
  await copyFile(`${manifestFile(repo, v2.id)}.sig`, `${manifestFile(repo, v1.id)}.sig`);
  await refused(fresh, home, v1.id, /RB027.*signature does not verify/);
  // Without a signature: unsigned beside signed backups.
  await rm(`${manifestFile(repo, v1.id)}.sig`);
  await refused(fresh, home, v1.id, /RB027.*unsigned, and no signed backup of this repository vouches for it/);
});

testNeeding(tamper, hasGpg, 'gpg', 'a parent pointer changed is refused (the incremental, and the restore of its chain)', async () => {
  const { home, source, repository: repo, fresh, create, run } = await repository();
  const v1 = create();
  const v2 = create();
  await writeFile(path.join(source, 'sub', 'small'), 'changed\n');
  const incremental = create(['--parent', v1.id]);
  const manifest = await readManifest(repo, incremental.id);
  manifest.parent = v2.id;
  await writeManifest(repo, incremental.id, manifest);
  await refused(fresh, home, incremental.id, /RB027/);
  // The host that read it before (its manifest cache) refuses it too once it changed.
  const restore = run(['restore', incremental.id, path.join(home, 'cached')]);
  assert.is(restore.status, 1, restore.stderr);
  assert.match(restore.stderr, /RB027/);
});

testNeeding(tamper, hasGpg, 'gpg', 'a backup signed by a key the config does not trust is refused, naming the key', async () => {
  const { home, repository: repo, config, key, fresh, create } = await repository();
  const host = await generateKeyFiles(path.join(home, 'keys', 'signing.key'), 'host signing key');
  await writeConfig(
    config,
    repo,
    `key_path = ${JSON.stringify(key.privateKeyFile)}\n\n[signing]\nkey_path = ${JSON.stringify(host.privateKeyFile)}`,
  );
  const made = create();
  assert.is((await readManifest(repo, made.id)).signer.fingerprint, host.fingerprint);
  // A host that trusts only the encryption key.
  await writeConfig(
    config,
    repo,
    `key_path = ${JSON.stringify(key.privateKeyFile)}\n\n[signing]\ntrusted = [${JSON.stringify(key.fingerprint)}]`,
  );
  const spaced = host.fingerprint.replace(/(.{4})/g, '$1 ').trim();
  await refused(fresh, home, made.id, new RegExp(`RB027.*signed by key ${spaced}, which this host does not trust.*${host.fingerprint}`));
  await writeConfig(
    config,
    repo,
    `key_path = ${JSON.stringify(key.privateKeyFile)}\n\n[signing]\ntrusted = [${JSON.stringify(key.fingerprint)}, ${JSON.stringify(spaced)}]`,
  );
  const restored = await fresh(['restore', made.id, path.join(home, 'trusted')]);
  assert.is(restored.status, 0, restored.stderr);
});

testNeeding(
  tamper,
  hasGpg,
  'gpg',
  'a write-only host without a signing key: a one-line error at the start of create, nothing written',
  async () => {
    const { home, source, repository: repo, config, key, run } = await repository();
    await writeConfig(config, repo, `public_key_path = ${JSON.stringify(key.publicKeyFile)}`);
    const result = run(['create', source]);
    assert.is(result.status, 2, result.stderr);
    assert.is(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, /signing\.key_path: signing is on and this host has no signing key.*generate-key --signing/);
    assert.is(await readdir(repo).catch(() => 'absent'), 'absent', 'nothing written');
    // With a host signing key (generate-key --signing), it makes backups that the key's owner trusts once told.
    const made = cli(['generate-key', '--signing', '--output', path.join(home, 'keys', 'host.key'), '--json']);
    assert.is(made.status, 0, made.stderr);
    const host = JSON.parse(made.stdout) as Json;
    await writeConfig(
      config,
      repo,
      `public_key_path = ${JSON.stringify(key.publicKeyFile)}\n\n[signing]\nkey_path = ${JSON.stringify(host.privateKeyFile)}`,
    );
    const created = run(['create', source, '--json']);
    assert.is(created.status, 0, created.stderr);
    assert.is(JSON.parse(run(['list', '--json']).stdout)[0].signature, 'signed');
  },
);

testNeeding(
  tamper,
  hasGpg,
  'gpg',
  'backups made before signing restore with one warning; an unsigned one added after signed ones is refused',
  async () => {
    const { home, repository: repo, config, key, fresh, create } = await repository();
    const plain = `key_path = ${JSON.stringify(key.privateKeyFile)}`;
    await writeConfig(config, repo, `${plain}\n\n[signing]\nenabled = false`);
    const oldFull = create();
    const old = create(['--parent', oldFull.id]);
    await writeConfig(config, repo, plain);
    const restored = await fresh(['restore', old.id, path.join(home, 'old')]);
    assert.is(restored.status, 0, restored.stderr);
    assert.equal(restored.stderr.trim().split('\n'), [
      `rast-backup: warning: backups ${oldFull.id}, ${old.id} are unsigned (made before manifests were signed): not authenticated`,
    ]);
    const signed = create();
    assert.equal((await readManifest(repo, signed.id)).unsignedAccepted, [oldFull.id, old.id]);
    await writeConfig(config, repo, `${plain}\n\n[signing]\nenabled = false`);
    const planted = create();
    await writeConfig(config, repo, plain);
    assert.is((await fresh(['restore', old.id, path.join(home, 'old-again')])).status, 0);
    await refused(fresh, home, planted.id, /RB027.*unsigned/);
    const list = JSON.parse((await fresh(['list', '--json'])).stdout) as Json[];
    assert.equal(
      list.map((entry) => entry.signature),
      ['unsigned', 'unsigned', 'signed', 'refused'],
    );
  },
);

// ---

const gpgVerify = suite('signing: gpg --verify with standard tools');

testNeeding(
  gpgVerify,
  hasGpg,
  'gpg',
  "docs/recovery.md's command checks a manifest's signature, and fails on a changed manifest",
  async () => {
    const { repository: repo, key, create } = await repository();
    const made = create();
    const text = await readFile(path.join(ROOT, 'docs', 'recovery.md'), 'utf8');
    const block = /^```sh\n(for id in \$chain; do[\s\S]*?)^```$/m.exec(text)?.[1];
    assert.ok(block, 'recovery.md has the signature check');
    const gpg = await gnupg();
    try {
      const run = () =>
        spawnSync('bash', ['-c', `set -eu\nREPO=${JSON.stringify(repo)}\nchain=${JSON.stringify(made.id)}\n${block}`], {
          encoding: 'utf8',
          env: gpg.env,
        });
      assert.is(gpg.run(['--import', key.publicKeyFile]).status, 0);
      const good = run();
      assert.is(good.status, 0, good.stderr);
      assert.match(good.stderr, /Good signature/);
      const manifest = await readManifest(repo, made.id);
      manifest.parent = 'elsewhere';
      await writeManifest(repo, made.id, manifest);
      const bad = run();
      assert.is.not(bad.status, 0, bad.stderr);
      assert.match(bad.stderr, /BAD signature/);
    } finally {
      gpg.close();
    }
  },
);

tamper.run();
gpgVerify.run();
