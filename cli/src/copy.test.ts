import { copyFile, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CliFixture } from './testing/CliFixture.js';

/** An encrypted, signed repository (the fixture's) with a chain of two backups, and the config of an empty second one. */
async function repositories(otherSigning = '') {
  const key = (home: string) => path.join(home, 'backup.key');
  const fixture = await CliFixture.create();
  const generated = fixture.cli(['generate-key', '--output', key(fixture.home)]);
  assert.is(generated.status, 0, generated.stderr);
  const encryption = `\n[encryption]\nkey_path = ${JSON.stringify(key(fixture.home))}\n`;
  await writeFile(fixture.config, `${await readFile(fixture.config, 'utf8')}${encryption}`);
  const offsite = path.join(fixture.home, 'offsite');
  const other = path.join(fixture.home, 'offsite.toml');
  await writeFile(
    other,
    `[storage]\nlocal.path = ${JSON.stringify(offsite)}\n\n[backup]\npart_size_mib = 1\n${encryption}${otherSigning}`,
    {
      mode: 0o600,
    },
  );
  const source = await fixture.directory('source', { file: 'one\n', big: 'x'.repeat(1_500_000) });
  const full = fixture.json(['create', source]);
  await writeFile(path.join(source, 'file'), 'two\n');
  const incremental = fixture.json(['create', source, '--parent', 'latest']);
  return { fixture, source, other, offsite, full, incremental };
}

// ---

const copy = suite('copy: to another repository');

copy('copy of an incremental takes its chain, keeps ids, parents and signatures, and verifies under the other config', async () => {
  const { fixture, other, offsite, full, incremental } = await repositories();
  const planned = fixture.json(['copy', incremental.id, '--to-config', other, '--dry-run']);
  assert.equal(
    planned.copies.map((entry: any) => [entry.backup, entry.sink, entry.status]),
    [
      [full.id, 'local', 'would-copy'],
      [incremental.id, 'local', 'would-copy'],
    ],
  );
  assert.is(await readdir(path.join(offsite, 'backups')).catch(() => 'absent'), 'absent', 'a dry run copies nothing');

  const report = fixture.json(['copy', incremental.id, '--to-config', other]);
  assert.is(report.copied, 2);
  const there = fixture.json<any[]>(['list'], {}, other);
  assert.equal(
    there.map((entry) => [entry.id, entry.parent, entry.signature, entry.signer]),
    [
      [full.id, null, 'signed', full.signer],
      [incremental.id, full.id, 'signed', incremental.signer],
    ],
  );
  for (const id of [full.id, incremental.id]) {
    for (const file of [`${id}.json`, `${id}.json.sig`])
      assert.equal(
        await readFile(path.join(offsite, 'backups', file)),
        await readFile(path.join(fixture.repository, 'backups', file)),
        file,
      );
  }
  const verified = fixture.cli(['verify', '--all'], {}, other);
  assert.is(verified.status, 0, verified.stderr);
  const destination = path.join(fixture.home, 'restored');
  assert.is(fixture.cli(['restore', incremental.id, destination], {}, other).status, 0);
  assert.is(await readFile(path.join(destination, 'file'), 'utf8'), 'two\n');

  // Again: nothing to copy.
  const again = fixture.json(['copy', 'latest', '--to-config', other]);
  assert.equal([again.copied, again.inStep], [0, 2]);
});

copy('a re-sign cut short in the source (its .json.sig.next verifies, its .json.sig does not) is copied finished', async () => {
  const { fixture, other, offsite, full, incremental } = await repositories();
  const signature = (id: string) => path.join(fixture.repository, 'backups', `${id}.json.sig`);
  // The state a re-sign leaves when cut short between the manifest's write and the signature's: .sig does not verify.
  await rename(signature(incremental.id), `${signature(incremental.id)}.next`);
  await copyFile(signature(full.id), signature(incremental.id));
  const here = fixture.json<any[]>(['list'], { env: { ...process.env, RAST_BACKUP_STATE_DIR: path.join(fixture.home, 'fresh-state') } });
  assert.equal(
    here.map((entry) => entry.signature),
    ['signed', 'signed'],
  );
  const report = fixture.json(['copy', incremental.id, '--to-config', other]);
  assert.is(report.copied, 2);
  const files = await readdir(path.join(offsite, 'backups'));
  assert.equal(
    files.filter((file) => file.endsWith('.next')),
    [],
  );
  assert.equal(
    await readFile(path.join(offsite, 'backups', `${incremental.id}.json.sig`)),
    await readFile(`${signature(incremental.id)}.next`),
    'the signature that verifies, as .json.sig',
  );
  const verified = fixture.cli(['verify', '--all'], {}, other);
  assert.is(verified.status, 0, verified.stderr);
});

copy('a backup the other config would refuse (a signer it does not trust) is not copied, and named', async () => {
  const { fixture, other, offsite, full } = await repositories(`\n[signing]\ntrusted = ["${'AB'.repeat(20)}"]\n`);
  const result = fixture.cli(['copy', full.id, '--to-config', other]);
  assert.is(result.status, 1, result.stderr);
  assert.match(
    result.stderr,
    new RegExp(`backup ${full.id} into sink local: the repository of ${other.replace(/[.]/g, '\\.')} would refuse it`),
  );
  assert.match(result.stderr, new RegExp(full.signer));
  assert.is(
    await readdir(path.join(offsite, 'backups'))
      .catch(() => [])
      .then((files) => files.length),
    0,
  );
});

copy('copy needs --to-config and an id', async () => {
  const fixture = await CliFixture.create();
  const noConfig = fixture.cli(['copy', 'latest']);
  assert.is(noConfig.status, 2);
  assert.match(noConfig.stderr, /--to-config FILE/);
  const noId = fixture.cli(['copy', '--to-config', fixture.config]);
  assert.is(noId.status, 2);
  const missing = fixture.cli(['copy', 'latest', '--to-config', path.join(fixture.home, 'none.toml')]);
  assert.is(missing.status, 2, missing.stderr);
  assert.match(missing.stderr, /none\.toml/);
});

copy.run();
