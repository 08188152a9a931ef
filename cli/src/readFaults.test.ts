import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { temporaryDirectory } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

// A fault at each stage of the read pipeline (fetch → decrypt → decompress → decode), through the real CLI: a
// stored part is damaged after its checksum, so the stage itself must find it (the fetch stage's own checks,
// a flipped byte and a missing part, are in cli.test.ts). Signing is off: the manifest is edited to match.

const BINARY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'node_modules', '.bin', 'rast-backup');

function cli(args: string[], state: string) {
  const result = spawnSync(BINARY, args, {
    encoding: 'utf8',
    env: { ...process.env, RAST_BACKUP_CONFIG: '', RAST_BACKUP_STATE_DIR: state },
    timeout: 120_000,
  });
  return { status: result.status, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** A backup of a small tree in 1 MiB parts (zstd, and OpenPGP when `encrypted`); what a test needs to damage it. */
async function backup(encrypted: boolean) {
  const home = await temporaryDirectory();
  const repository = path.join(home, 'repository');
  const state = path.join(home, 'state');
  const config = path.join(home, 'config.toml');
  let text = `[storage]\nlocal.path = ${JSON.stringify(repository)}\n\n[backup]\npart_size_mib = 1\n`;
  if (encrypted) {
    const key = path.join(home, 'backup.key');
    assert.is(cli(['generate-key', '--output', key], state).status, 0);
    text += `\n[encryption]\nkey_path = ${JSON.stringify(key)}\n\n[signing]\nenabled = false\n`;
  }
  await writeFile(config, text);
  const source = path.join(home, 'source');
  await mkdir(source);
  await writeFile(path.join(source, 'first'), 'first\n');
  await writeFile(path.join(source, 'random.bin'), randomBytes(3_500_000));
  const created = cli(['create', source, '--json', '--config', config], state);
  assert.is(created.status, 0, created.stderr);
  const id = JSON.parse(created.stdout).id as string;
  const manifestFile = path.join(repository, 'backups', `${id}.json`);
  /** Replaces stored part `seq` with `data`, and its record in the manifest to match (size and SHA-256). */
  const replacePart = async (seq: number, data: Buffer) => {
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8'));
    const part = manifest.parts[seq];
    manifest.storedSize += data.length - part.storedSize;
    part.storedSize = data.length;
    part.sha256 = createHash('sha256').update(data).digest('hex');
    await writeFile(path.join(repository, part.key), data);
    await writeFile(manifestFile, JSON.stringify(manifest));
  };
  const partFile = (seq: number) => path.join(repository, 'data', id, `${String(seq).padStart(6, '0')}.part`);
  const partCount = JSON.parse(await readFile(manifestFile, 'utf8')).parts.length as number;
  return { home, state, config, id, replacePart, partFile, partCount };
}

/** Restore and verify both fail with one line naming the backup, the part and the sink; nothing is left running or written outside. */
async function assertStops(fixture: Awaited<ReturnType<typeof backup>>, seq: number, what: RegExp) {
  const { home, state, config, id, partCount } = fixture;
  const named = new RegExp(
    `backup ${id}, part ${seq + 1} of ${partCount} \\(data/${id}/${String(seq).padStart(6, '0')}\\.part\\) in sink local: ${what.source}`,
  );
  const outer = path.join(home, 'outer');
  await mkdir(outer);
  const started = performance.now();
  const restored = cli(['restore', id, path.join(outer, 'destination'), '--config', config], state);
  assert.is(restored.status, 1, `restore: exit ${restored.status}: ${restored.stderr}`);
  assert.match(restored.stderr, named);
  assert.is(
    restored.stderr
      .trim()
      .split('\n')
      .filter((line) => line.startsWith('error')).length <= 1,
    true,
    restored.stderr,
  );
  assert.not.match(restored.stderr, /^\s+at /m, 'no stack trace');
  assert.ok(performance.now() - started < 60_000, 'restore stopped at once');
  assert.ok(
    (await readdir(outer)).every((name) => name === 'destination'),
    'nothing written outside the destination',
  );
  const verified = cli(['verify', id, '--level', 'full', '--config', config], state);
  assert.is(verified.status, 1, `verify: exit ${verified.status}: ${verified.stderr}`);
  assert.match(verified.stderr, named);
}

const faults = suite('read pipeline: a fault at each stage stops restore and verify, naming backup, part and sink');

faults('decrypt: a part whose MDC does not match (its SHA-256 does)', async () => {
  const fixture = await backup(true);
  const stored = await readFile(fixture.partFile(1));
  stored[stored.length - 30]! ^= 0x01; // in the encrypted data, before the MDC
  await fixture.replacePart(1, stored);
  await assertStops(fixture, 1, /openpgp could not decode it: .*(MDC|damaged)/);
});

faults('decompress: a part that is no zstd frame (its SHA-256 matches)', async () => {
  const fixture = await backup(false);
  await fixture.replacePart(1, randomBytes((await readFile(fixture.partFile(1))).length));
  await assertStops(fixture, 1, /zstd could not decode it/);
});

faults('decode: a part that decodes to the wrong size', async () => {
  const fixture = await backup(false);
  const frame = spawnSync('zstd', ['-q', '-3', '-c'], { input: randomBytes(1000) }).stdout;
  await fixture.replacePart(1, frame);
  await assertStops(fixture, 1, /decodes to 1000 bytes, the manifest says \d+/);
});

faults('decode: a part whose stream is damaged (its zstd frame and SHA-256 are good)', async () => {
  const { home, state, config, id, replacePart, partFile } = await backup(false);
  const plain = spawnSync('zstd', ['-q', '-d', '-c'], { input: await readFile(partFile(0)) }).stdout;
  plain.fill(0x41, 0, 512); // the first entry's header
  await replacePart(0, spawnSync('zstd', ['-q', '-3', '-c'], { input: plain }).stdout);
  const restored = cli(['restore', id, path.join(home, 'destination'), '--config', config], state);
  assert.is(restored.status, 1, `restore: exit ${restored.status}: ${restored.stderr}`);
  assert.match(restored.stderr, new RegExp(`backup ${id}: the tar stream is damaged`));
  assert.not.match(restored.stderr, /^\s+at /m, 'no stack trace');
  const verified = cli(['verify', id, '--level', 'full', '--config', config], state);
  assert.is(verified.status, 1, `verify: exit ${verified.status}: ${verified.stderr}`);
  assert.match(verified.stderr, new RegExp(`backup ${id}: the tar stream is damaged`));
});

faults.run();
