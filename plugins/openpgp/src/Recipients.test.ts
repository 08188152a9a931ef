import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { testNeeding } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, fixture, gnupg, hasGpg, keyPair, writeConfig } from './TestFixtures.js';

function json(args: string[]): any {
  const result = cli([...args, '--json']);
  assert.is(result.status, 0, `${args.join(' ')}: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

/** A host key (key_path) and an offline recovery key given only by its public key file in `recipients`. */
async function twoKeys() {
  const setup = await fixture();
  const host = await keyPair(path.join(setup.home, 'host'));
  const recovery = await keyPair(path.join(setup.home, 'recovery'));
  const hostConfig = `key_path = ${JSON.stringify(host.privateKeyFile)}\nrecipients = [${JSON.stringify(recovery.publicKeyFile)}]`;
  await writeConfig(setup.config, setup.repository, hostConfig);
  return { ...setup, host, recovery };
}

// ---

const several = suite('openpgp: several recipients');

several('each part is one message to every recipient; any one private key restores; the manifest and info name them all', async () => {
  const { home, source, config, repository, host, recovery } = await twoKeys();
  const full = json(['create', source, '--config', config]);
  await writeFile(path.join(source, 'sub', 'small'), 'changed\n');
  const incremental = json(['create', source, '--parent', 'latest', '--config', config]);

  const info = json(['info', incremental.id, '--config', config]);
  const params = info.manifest.transforms.find((transform: any) => transform.name === 'openpgp').params;
  assert.is(params.recipient, host.fingerprint);
  assert.equal(
    params.recipients.map((entry: any) => entry.recipient),
    [host.fingerprint, recovery.fingerprint],
  );
  assert.is(info.facts['encrypted to'], `${host.fingerprint}, ${recovery.fingerprint}`);
  assert.match(cli(['info', full.id, '--config', config]).stdout, new RegExp(`encrypted to: ${host.fingerprint}, ${recovery.fingerprint}`));

  // The recovery key alone (a host with no config of its own but that key) restores the chain.
  const recoveryConfig = path.join(home, 'recovery.toml');
  // It trusts the host's signing key (the host key signs), as docs/encryption.md says.
  await writeConfig(
    recoveryConfig,
    repository,
    `key_path = ${JSON.stringify(recovery.privateKeyFile)}\n\n[signing]\ntrusted = [${JSON.stringify(host.fingerprint)}]`,
  );
  for (const [name, file] of [
    ['host', config],
    ['recovery', recoveryConfig],
  ] as const) {
    const destination = path.join(home, `restored-${name}`);
    const restored = cli(['restore', incremental.id, destination, '--config', file]);
    assert.is(restored.status, 0, `${name}: ${restored.stderr}`);
    assert.is(await readFile(path.join(destination, 'sub', 'small'), 'utf8'), 'changed\n');
    assert.ok((await readFile(path.join(destination, 'sub', 'random.bin'))).equals(await readFile(path.join(source, 'sub', 'random.bin'))));
    assert.is(cli(['verify', incremental.id, '--config', file]).status, 0, `${name} verifies`);
  }

  // A key that is neither is refused, naming both.
  const other = await keyPair(path.join(home, 'other'));
  await writeConfig(
    recoveryConfig,
    repository,
    `key_path = ${JSON.stringify(other.privateKeyFile)}\n\n[signing]\ntrusted = [${JSON.stringify(host.fingerprint)}]`,
  );
  const refused = cli(['restore', incremental.id, path.join(home, 'refused'), '--config', recoveryConfig]);
  assert.is(refused.status, 1);
  assert.match(refused.stderr, /RB018: .*encrypted to keys .* and .* \(any one of them reads it\)/);
  assert.ok(
    [host.fingerprint, recovery.fingerprint].every((fingerprint) => refused.stderr.includes(fingerprint.slice(0, 4))),
    refused.stderr,
  );
});

several('a single key keeps the manifest params it had before several recipients (no recipients list)', async () => {
  const { home, source, config, repository } = await fixture();
  const key = await keyPair(path.join(home, 'keys'));
  await writeConfig(config, repository, `enabled = true\nkey_path = ${JSON.stringify(key.privateKeyFile)}`);
  const created = json(['create', source, '--config', config]);
  const params = json(['info', created.id, '--config', config]).manifest.transforms.at(-1).params;
  assert.equal(Object.keys(params), ['recipient', 'encryptionKey', 'cipher', 'packet', 'literalName']);
});

several(
  'a missing recipient file, or a key named twice, is a config error naming encryption.recipients[n]; nothing is written',
  async () => {
    const { home, source, config, repository, host } = await twoKeys();
    const missing = path.join(home, 'nowhere.pub');
    await writeConfig(config, repository, `key_path = ${JSON.stringify(host.privateKeyFile)}\nrecipients = [${JSON.stringify(missing)}]`);
    let result = cli(['create', source, '--config', config]);
    assert.is(result.status, 2, result.stderr);
    assert.match(result.stderr, /RB002: .*encryption\.recipients\[0\]: cannot read .*nowhere\.pub: no such file/);
    await writeConfig(
      config,
      repository,
      `key_path = ${JSON.stringify(host.privateKeyFile)}\nrecipients = [${JSON.stringify(host.publicKeyFile)}]`,
    );
    result = cli(['create', source, '--config', config]);
    assert.is(result.status, 2, result.stderr);
    assert.match(result.stderr, /encryption\.recipients\[0\]: .* is key [0-9A-F]{40}, which .* already is: name each recipient once/);
    await rm(repository, { recursive: true, force: true });
  },
);

testNeeding(
  several,
  hasGpg,
  'gpg (GnuPG)',
  'GnuPG holding only the recovery key decrypts a part: two session key packets, one message',
  async () => {
    const { source, config, repository, recovery } = await twoKeys();
    const created = json(['create', source, '--config', config]);
    const part = path.join(
      repository,
      'data',
      created.id,
      (await readdir(path.join(repository, 'data', created.id))).find((name) => name.endsWith('.part'))!,
    );
    const gpg = await gnupg();
    try {
      assert.is(gpg.run(['--import', recovery.privateKeyFile]).status, 0);
      const packets = gpg.run(['--list-packets', part]).stdout.toString();
      assert.is(packets.match(/:pubkey enc packet: version 3, algo 18/g)?.length, 2, packets);
      const decrypted = gpg.run(['--quiet', '--decrypt', part]);
      assert.is(decrypted.status, 0, decrypted.stderr);
      // zstd inside: its frame magic.
      assert.ok(decrypted.stdout.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd])));
    } finally {
      gpg.close();
    }
  },
);

several.run();
