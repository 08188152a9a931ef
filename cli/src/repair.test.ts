import { readFile, rm, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { testNeeding } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { btrfsAvailable, btrfsNeeds, CliFixture } from './testing/CliFixture.js';

const btrfs = suite('cli: repair rebuilds btrfs indexes from their streams');

testNeeding(btrfs, btrfsAvailable, btrfsNeeds, 'lost indexes of a full backup and its incremental are rebuilt byte for byte', async () => {
  const fixture = await CliFixture.create();
  const source = await fixture.subvolume({ kept: 'kept\n', gone: 'gone\n', 'big.bin': 'x'.repeat(1_500_000) });
  const full = fixture.json(['create', source]).id as string;
  await writeFile(path.join(source, 'new'), 'new\n');
  await unlink(path.join(source, 'gone'));
  const incremental = fixture.json(['create', source, '--parent', 'latest']).id as string;
  const listings = [full, incremental].map((id) => fixture.cli(['ls', id]).stdout);
  const manifests = await Promise.all([full, incremental].map((id) => readFile(path.join(fixture.repository, 'backups', `${id}.json`))));
  // The full backup's header and block, and the incremental's block, gone.
  await rm(path.join(fixture.repository, 'data', full, 'index'));
  await rm(path.join(fixture.repository, 'data', full, 'index.000000'));
  await rm(path.join(fixture.repository, 'data', incremental, 'index.000000'));
  const broken = fixture.cli(['verify', incremental]);
  assert.is(broken.status, 1);
  assert.match(broken.stderr, new RegExp(`rast-backup repair ${full}`));
  assert.equal(fixture.json(['repair', '--all', '--dry-run']).repaired, 2);
  const report = fixture.json(['repair', '--all']);
  assert.is(report.status, 'repaired');
  for (const backup of report.backups) assert.match(backup.repaired[0].message, /the same bytes as recorded/);
  // zstd alone encodes the same bytes again: the manifests are untouched.
  for (const [n, id] of [full, incremental].entries())
    assert.ok(manifests[n]!.equals(await readFile(path.join(fixture.repository, 'backups', `${id}.json`))));
  assert.is(fixture.cli(['verify', '--all']).status, 0);
  assert.equal(
    [full, incremental].map((id) => fixture.cli(['ls', id]).stdout),
    listings,
  );
  const destination = path.join(fixture.home, 'restored');
  fixture.json(['restore', incremental, destination]);
  assert.is(await readFile(path.join(destination, 'new'), 'utf8'), 'new\n');
  assert.is(await readFile(path.join(destination, 'big.bin'), 'utf8'), 'x'.repeat(1_500_000));
  assert.not.ok(await readFile(path.join(destination, 'gone')).catch(() => undefined));
  const partial = path.join(fixture.home, 'partial');
  fixture.json(['restore', incremental, partial, '--include', '/kept']);
  assert.is(await readFile(path.join(partial, 'kept'), 'utf8'), 'kept\n');
});

btrfs.run();

// ---

const tar = suite('cli: repair of tar backups');

testNeeding(tar, true, '', 'a tar incremental whose index is lost is reported as not repairable, and nothing is removed', async () => {
  const fixture = await CliFixture.create();
  const source = await fixture.directory('source', { a: 'a\n' });
  fixture.json(['create', source]);
  await writeFile(path.join(source, 'b'), 'b\n');
  const incremental = fixture.json(['create', source, '--parent', 'latest']).id as string;
  await rm(path.join(fixture.repository, 'data', incremental, 'index.000000'));
  const result = fixture.cli(['repair', incremental]);
  assert.is(result.status, 1, result.stderr);
  assert.match(result.stderr, /cannot repair: .*tar incremental: its stream does not record the paths deleted/);
  assert.ok(await readFile(path.join(fixture.repository, 'data', incremental, 'index')));
  assert.ok(await readFile(path.join(fixture.repository, 'data', incremental, '000000.part')));
});

tar.run();
