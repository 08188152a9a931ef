import { spawnSync } from 'node:child_process';
import { chmod, chown, link, lstat, mkdir, readdir, readFile, rename, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setAttribute } from '@napi-rs/xattr';
import {
  createBackup,
  createRuntime,
  ErrorCode,
  restoreBackup,
  verifyBackup,
  type Manifest,
  type RastError,
  type Runtime,
} from '@rast-backup/core';
import { isRoot, silentLogger, temporaryDirectory, testNeeding } from '@rast-backup/core/testing';
import local from '@rast-backup/plugin-local';
import zstd from '@rast-backup/plugin-zstd';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import directory from './index.js';
import { fingerprint } from './TreeFingerprint.fixture.js';
import { withTextPath } from '@rast-backup/restore-kit';

/** A runtime from a real config file: local sink, zstd, this plugin; 1 MiB parts so big files span parts. */
async function runtime(repository: string): Promise<Runtime> {
  const configDirectory = await temporaryDirectory();
  const configFile = path.join(configDirectory, 'config.toml');
  await writeFile(configFile, `[storage]\nlocal.path = ${JSON.stringify(repository)}\n\n[backup]\npart_size_mib = 1\n`);
  return createRuntime({ configFile, defaultPresets: [local, directory, zstd], resolveFrom: [], log: silentLogger() });
}

/** A name with bytes that are not UTF-8 (Linux names are bytes). */
const bytes = (text: string, ...raw: number[]) => Buffer.concat([Buffer.from(text), Buffer.from(raw)]);
const under = (root: string, ...parts: Buffer[]) =>
  Buffer.concat([Buffer.from(root), ...parts.flatMap((part) => [Buffer.from('/'), part])]);

const setTime = (file: string, seconds: number) => utimes(file, seconds, seconds);

/** A tree with every kind of entry the directory format keeps. */
async function buildTree(root: string): Promise<void> {
  await mkdir(path.join(root, 'docs', 'deep', 'deeper'), { recursive: true });
  await writeFile(path.join(root, 'docs', 'readme.txt'), 'hello\n');
  await writeFile(path.join(root, 'docs', 'empty'), '');
  await writeFile(path.join(root, 'docs', 'deep', 'deeper', 'notes.md'), '# notes\n'.repeat(100));
  await writeFile(path.join(root, 'big.bin'), Buffer.from(Array.from({ length: 3 * 1024 * 1024 + 17 }, (_, i) => (i * 7919) % 251)));
  await writeFile(path.join(root, 'unicodé name with spaces.txt'), 'ü\n');
  const longDirectory = path.join(root, 'l'.repeat(60), 'o'.repeat(60));
  await mkdir(longDirectory, { recursive: true });
  await writeFile(path.join(longDirectory, 'n'.repeat(90)), 'long path');
  await symlink('docs/readme.txt', path.join(root, 'relative-link'));
  await symlink('/etc/hostname', path.join(root, 'absolute-link'));
  await symlink('../outside/nowhere', path.join(root, 'dangling-link'));
  await writeFile(path.join(root, 'docs', 'original'), 'shared data');
  await link(path.join(root, 'docs', 'original'), path.join(root, 'hardlink-one'));
  await link(path.join(root, 'docs', 'original'), path.join(root, 'docs', 'deep', 'hardlink-two'));
  spawnSync('mkfifo', [path.join(root, 'pipe')]);
  await writeFile(path.join(root, 'script.sh'), '#!/bin/sh\n');
  await chmod(path.join(root, 'script.sh'), 0o755);
  await writeFile(path.join(root, 'private'), 'p');
  await chmod(path.join(root, 'private'), 0o640);
  await chmod(path.join(root, 'docs', 'deep'), 0o750);
  await setAttribute(path.join(root, 'docs', 'readme.txt'), 'user.comment', 'a comment');
  await setAttribute(path.join(root, 'docs'), 'user.binary', Buffer.from([0, 1, 2, 255]));
  if (isRoot) {
    spawnSync('mknod', [path.join(root, 'null-device'), 'c', '1', '3']);
    await writeFile(path.join(root, 'setuid'), 's');
    await chown(path.join(root, 'setuid'), 1234, 5678);
    await chmod(path.join(root, 'setuid'), 0o4755);
    await chown(path.join(root, 'docs', 'empty'), 4321, 8765);
  }
  // Names that are not UTF-8: a directory (with an xattr), a file in it, a hard link to it, a symlink whose target has such bytes, a fifo.
  await mkdir(under(root, bytes('bin', 0xfe)));
  await writeFile(under(root, bytes('bin', 0xfe), bytes('lat-', 0xe9, 0xff)), 'latin-1 name\n');
  await withTextPath(under(root, bytes('bin', 0xfe)), (text) => setAttribute(text, 'user.name', 'x'));
  await link(under(root, bytes('bin', 0xfe), bytes('lat-', 0xe9, 0xff)), under(root, bytes('hard', 0xfd)));
  await symlink(bytes('bin', 0xfe, 0x2f, 0x6c, 0x61, 0x74, 0x2d, 0xe9, 0xff), under(root, bytes('link', 0xfb)));
  spawnSync('mkfifo', [path.join(root, 'pipe-ascii')]);
  await rename(path.join(root, 'pipe-ascii'), under(root, bytes('pipe-', 0xf0)));
  await setTime(path.join(root, 'docs', 'readme.txt'), 1_600_000_000.123456);
  await setTime(path.join(root, 'docs', 'deep', 'deeper'), 1_500_000_000.654321);
}

async function restoreInto(runtime: Runtime, backup: string, include: string[] = []): Promise<string> {
  const destination = path.join(await temporaryDirectory(), 'restored');
  await restoreBackup(runtime, { backup, destination, include });
  return destination;
}

// ---

const roundTrip = suite('directory backups: round trip');

roundTrip('a tree with every kind of entry comes back identical', async () => {
  const source = await temporaryDirectory();
  await buildTree(source);
  const rt = await runtime(await temporaryDirectory());
  const manifest = await createBackup(rt, { path: source, name: 'all kinds' });
  assert.ok(manifest.parts.length >= 3, 'big.bin spans several 1 MiB parts');
  assert.equal(
    manifest.transforms.map((transform) => transform.name),
    ['zstd'],
  );
  const destination = await restoreInto(rt, manifest.id);
  assert.equal(await fingerprint(destination), await fingerprint(source));
  await verifyBackup(rt, { backup: manifest.id });
});

testNeeding(roundTrip, isRoot, 'root', 'as root, ownership, setuid bits and device nodes come back', async () => {
  const source = await temporaryDirectory();
  await buildTree(source);
  const rt = await runtime(await temporaryDirectory());
  const destination = await restoreInto(rt, (await createBackup(rt, { path: source })).id);
  const restored = await fingerprint(destination);
  assert.match(restored['setuid']!, /mode=104755 owner=1234:5678/);
  assert.match(restored['docs/empty']!, /owner=4321:8765/);
  assert.match(restored['null-device']!, /rdev=259/);
});

roundTrip('the stream is a plain tar that GNU tar lists', async () => {
  const source = await temporaryDirectory();
  await buildTree(source);
  const repository = await temporaryDirectory();
  const rt = await runtime(repository);
  const manifest = await createBackup(rt, { path: source });
  const parts = manifest.parts.map((part) => path.join(repository, part.key));
  const listing = spawnSync('sh', ['-c', `cat ${parts.join(' ')} | zstd -d | tar -tvf -`], { encoding: 'utf8' });
  assert.is(listing.status, 0, listing.stderr);
  assert.match(listing.stdout, /docs\/deep\/deeper\/notes\.md/);
  assert.match(listing.stdout, /relative-link -> docs\/readme\.txt/);
  assert.match(listing.stdout, /n{90}/);
});

roundTrip('names that are not UTF-8 are kept byte for byte, in the index, the stream (GNU tar extracts them) and restores', async () => {
  const source = await temporaryDirectory();
  await buildTree(source);
  const repository = await temporaryDirectory();
  const rt = await runtime(repository);
  const manifest = await createBackup(rt, { path: source });
  const original = await fingerprint(source);
  for (const name of ['bin\udcfe', 'bin\udcfe/lat-\udce9\udcff', 'hard\udcfd', 'link\udcfb', 'pipe-\udcf0'])
    assert.ok(original[name], `the source has ${JSON.stringify(name)}`);
  assert.match(original['bin\udcfe']!, /xattr:user.name=eA==/);
  assert.match(original['link\udcfb']!, /target=bin\udcfe\/lat-\udce9\udcff/);
  const index = await (await rt.repository.indexes.open(manifest)).load();
  assert.equal(
    index.entries
      .filter((entry) => /[\udc80-\udcff]/.test(entry.path))
      .map((entry) => entry.path)
      .sort(),
    ['bin\udcfe', 'bin\udcfe/lat-\udce9\udcff', 'hard\udcfd', 'link\udcfb', 'pipe-\udcf0'],
  );
  assert.equal(await fingerprint(await restoreInto(rt, manifest.id)), original);
  await verifyBackup(rt, { backup: manifest.id });

  // Patterns are text: a glob around the bytes, or the bytes as ls shows them (\xHH).
  const selected = await fingerprint(await restoreInto(rt, manifest.id, ['bin?/lat-*', 'link\\xfb']));
  assert.equal(Object.keys(selected).sort(), ['bin\udcfe', 'bin\udcfe/lat-\udce9\udcff', 'link\udcfb']);
  assert.is(
    selected['bin\udcfe/lat-\udce9\udcff']!.replace(/ linkgroup=\S+/, ''),
    original['bin\udcfe/lat-\udce9\udcff']!.replace(/ linkgroup=\S+/, ''),
  );

  const extracted = await temporaryDirectory();
  const parts = manifest.parts.map((part) => path.join(repository, part.key));
  const tar = spawnSync('sh', ['-c', `cat ${parts.join(' ')} | zstd -d | tar -xf - -C ${extracted}`], { encoding: 'utf8' });
  assert.is(tar.status, 0, tar.stderr);
  assert.is(tar.stderr, '');
  const byTar = await fingerprint(extracted);
  for (const name of ['bin\udcfe/lat-\udce9\udcff', 'hard\udcfd', 'link\udcfb', 'pipe-\udcf0'])
    assert.is(byTar[name], original[name], name);
});

roundTrip.run();

// ---

const incremental = suite('directory backups: incremental chains');

incremental('a chain of three restores each state, and stores only what changed', async () => {
  const source = await temporaryDirectory();
  await buildTree(source);
  const rt = await runtime(await temporaryDirectory());
  const first = await createBackup(rt, { path: source });
  const state1 = await fingerprint(source);

  // Content changed with size and mtime kept; mode only; mtime set back only; deletions; additions; a rename; a new hard link; an xattr.
  const notes = path.join(source, 'docs', 'deep', 'deeper', 'notes.md');
  const before = await lstat(notes);
  await writeFile(notes, '# NOTE\n'.repeat(100).replace(/^/, '#'));
  await utimes(notes, before.atime, before.mtime);
  await chmod(path.join(source, 'private'), 0o600);
  await setTime(path.join(source, 'script.sh'), 1_000_000_000);
  await rm(path.join(source, 'unicodé name with spaces.txt'));
  await rm(path.join(source, 'l'.repeat(60)), { recursive: true });
  await writeFile(path.join(source, 'docs', 'added.txt'), 'new');
  await rename(path.join(source, 'docs', 'readme.txt'), path.join(source, 'README.txt'));
  await link(path.join(source, 'docs', 'original'), path.join(source, 'hardlink-three'));
  await setAttribute(path.join(source, 'private'), 'user.tag', 'x');
  const second = await createBackup(rt, { path: source, parent: 'latest' });
  const state2 = await fingerprint(source);
  assert.is(second.parent, first.id);
  assert.ok(second.size < first.size / 10, `incremental stream ${second.size} bytes vs full ${first.size}`);

  const index2 = await (await rt.repository.indexes.open(second)).load();
  const fromSecond = index2.entries
    .filter((entry) => entry.from === second.id && entry.type !== 'directory')
    .map((entry) => entry.path)
    .sort();
  assert.equal(
    fromSecond,
    [
      'README.txt',
      'docs/added.txt',
      'docs/deep/deeper/notes.md',
      'docs/deep/hardlink-two',
      'docs/original',
      'hardlink-one',
      'hardlink-three',
      'private',
      'script.sh',
    ].sort(),
  );
  assert.is(index2.entries.find((entry) => entry.path === 'big.bin')!.from, first.id);
  assert.not.ok(index2.entries.some((entry) => entry.path.startsWith('l'.repeat(60))));

  await writeFile(path.join(source, 'big.bin'), 'now small');
  await rm(path.join(source, 'docs', 'deep'), { recursive: true });
  await mkdir(path.join(source, 'docs', 'deep'));
  await writeFile(path.join(source, 'docs', 'deep', 'replaced'), 'again');
  const third = await createBackup(rt, { path: source, parent: second.id.slice(0, -1) });
  const state3 = await fingerprint(source);

  assert.equal(await fingerprint(await restoreInto(rt, third.id)), state3);
  assert.equal(await fingerprint(await restoreInto(rt, second.id)), state2);
  assert.equal(await fingerprint(await restoreInto(rt, first.id)), state1);
  for (const manifest of [first, second, third]) await verifyBackup(rt, { backup: manifest.id });
});

incremental('--parent of another source is refused', async () => {
  const rt = await runtime(await temporaryDirectory());
  const one = await temporaryDirectory();
  const other = await temporaryDirectory();
  const manifest = await createBackup(rt, { path: one });
  try {
    await createBackup(rt, { path: other, parent: manifest.id });
    assert.unreachable();
  } catch (error) {
    assert.is((error as RastError).code, ErrorCode.PARENT_INVALID);
  }
});

incremental.run();

// ---

const partial = suite('directory backups: partial restore');

let shared: { rt: Runtime; manifest: Manifest; source: string } | undefined;
async function sharedBackup() {
  if (shared) return shared;
  const source = await temporaryDirectory();
  await buildTree(source);
  const rt = await runtime(await temporaryDirectory());
  shared = { rt, source, manifest: await createBackup(rt, { path: source }) };
  return shared;
}

partial('a directory brings its subtree and the directories leading to it', async () => {
  const { rt, manifest, source } = await sharedBackup();
  const restored = await fingerprint(await restoreInto(rt, manifest.id, ['/docs/deep']));
  assert.equal(Object.keys(restored).sort(), [
    'docs',
    'docs/deep',
    'docs/deep/deeper',
    'docs/deep/deeper/notes.md',
    'docs/deep/hardlink-two',
  ]);
  const original = await fingerprint(source);
  assert.is(restored['docs/deep/deeper/notes.md'], original['docs/deep/deeper/notes.md']);
  assert.is(restored['docs'], original['docs']);
});

partial('globs and several patterns', async () => {
  const { rt, manifest } = await sharedBackup();
  const restored = await fingerprint(await restoreInto(rt, manifest.id, ['docs/*.txt', 'script.sh']));
  assert.equal(Object.keys(restored).sort(), ['docs', 'docs/readme.txt', 'script.sh']);
});

partial('a hard link restored without the entry holding its data still gets the data', async () => {
  const { rt, manifest } = await sharedBackup();
  const destination = await restoreInto(rt, manifest.id, ['hardlink-one']);
  assert.is(await readFile(path.join(destination, 'hardlink-one'), 'utf8'), 'shared data');
  assert.equal(await readdir(destination), ['hardlink-one']);
});

partial('a pattern that matches nothing is an error', async () => {
  const { rt, manifest } = await sharedBackup();
  try {
    await restoreInto(rt, manifest.id, ['no/such/path']);
    assert.unreachable();
  } catch (error) {
    assert.is((error as RastError).code, ErrorCode.USAGE);
    assert.match((error as Error).message, /no\/such\/path: matches nothing/);
  }
});

partial.run();
