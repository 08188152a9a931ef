import { spawn, spawnSync } from 'node:child_process';
import { randomBytes, randomFillSync } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, type RastError } from '@rast-backup/core';
import { isRoot, temporaryDirectory, testNeeding, waitFor } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { LocalSink } from './LocalSink.js';

async function allFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)));
}

// ---

const sink = suite('local sink');

sink('stores, lists by prefix, reads and deletes objects', async () => {
  const local = new LocalSink({ name: 'local', root: await temporaryDirectory() });
  await local.put('backups/a.json', Buffer.from('{}'));
  await local.put('data/a/000000.part', Buffer.from('part zero'));
  await local.put('data/b/000000.part', Buffer.from('other'));
  const listed: string[] = [];
  for await (const object of local.list('data/a/')) listed.push(`${object.key}:${object.size}`);
  assert.equal(listed, ['data/a/000000.part:9']);
  assert.equal((await local.get('data/a/000000.part')).toString(), 'part zero');
  await local.delete('data/a/000000.part');
  await local.delete('data/a/000000.part');
  try {
    await local.get('data/a/000000.part');
    assert.unreachable();
  } catch (error) {
    assert.is((error as RastError).code, ErrorCode.PART_MISSING);
    assert.match((error as Error).message, /data\/a\/000000\.part is missing from sink local \(/);
  }
});

/** Whether `directory`'s filesystem takes O_DIRECT (tmpfs, for one, may not). */
async function takesDirectIo(directory: string): Promise<boolean> {
  const probe = path.join(directory, 'direct-probe');
  try {
    await (await open(probe, constants.O_WRONLY | constants.O_CREAT | constants.O_DIRECT, 0o600)).close();
    return true;
  } catch {
    return false;
  } finally {
    await rm(probe, { force: true });
  }
}

/** Pages of `file` in the page cache, from fincore (util-linux). */
function cachedPages(file: string): number {
  const result = spawnSync('fincore', ['--noheadings', '--raw', '--output', 'PAGES', file], { encoding: 'utf8' });
  assert.is(result.status, 0, result.stderr);
  return Number(result.stdout.trim());
}

const directRoot = await temporaryDirectory();
const hasFincore = spawnSync('fincore', ['--version']).status === 0;

testNeeding(
  sink,
  (await takesDirectIo(directRoot)) && hasFincore,
  "O_DIRECT on the temporary directory's filesystem, and fincore",
  'a part from page-aligned memory is written past the page cache, all but its tail; other buffers through it, the same bytes',
  async () => {
    const local = new LocalSink({ name: 'local', root: directRoot });
    const size = 3 * 1024 * 1024 + 1234;
    const aligned = Buffer.from(
      new WebAssembly.Memory({ initial: 64, maximum: 64, shared: true }).buffer as unknown as SharedArrayBuffer,
      0,
      size,
    );
    randomFillSync(aligned);
    await local.put('data/x/000000.part', aligned);
    await local.flush();
    const file = path.join(directRoot, 'data/x/000000.part');
    assert.ok(cachedPages(file) <= 1, `${cachedPages(file)} pages of the part are cached: its bulk went through the page cache`);
    assert.ok((await readFile(file)).equals(aligned));
    // Not page-aligned (an odd offset into ordinary memory): written through the cache, whole.
    const unaligned = randomBytes(size + 1).subarray(1);
    await local.put('data/x/000001.part', unaligned);
    assert.ok((await local.get('data/x/000001.part')).equals(unaligned));
    assert.equal((await allFiles(directRoot)).sort(), ['data/x/000000.part', 'data/x/000001.part']);
  },
);

sink("reads an object into the caller's memory, returning its size; a larger object only by its size", async () => {
  const local = new LocalSink({ name: 'local', root: await temporaryDirectory() });
  const data = randomBytes(3 * 1024 * 1024 + 5);
  await local.put('data/a/000000.part', data);
  const into = Buffer.alloc(data.length + 100);
  assert.is(await local.readInto('data/a/000000.part', into), data.length);
  assert.ok(into.subarray(0, data.length).equals(data));
  const small = Buffer.alloc(10);
  assert.is(await local.readInto('data/a/000000.part', small), data.length);
  assert.ok(small.equals(Buffer.alloc(10)), 'nothing read into memory too small');
  const error = await local.readInto('data/a/000001.part', into).catch((failure: unknown) => failure);
  assert.is((error as RastError).code, ErrorCode.PART_MISSING);
});

sink('keeps the repository private: directories 0700, files 0600', async () => {
  const root = path.join(await temporaryDirectory(), 'repository');
  const local = new LocalSink({ name: 'local', root });
  await local.put('data/x/000000.part', Buffer.from('secret'));
  assert.is((await stat(root)).mode & 0o777, 0o700);
  assert.is((await stat(path.join(root, 'data', 'x'))).mode & 0o777, 0o700);
  assert.is((await stat(path.join(root, 'data', 'x', '000000.part'))).mode & 0o777, 0o600);
});

testNeeding(
  sink,
  isRoot,
  'root (to give files a group)',
  'with a group: directories 0750 and files 0640 of that group, whatever the umask',
  async () => {
    const root = path.join(await temporaryDirectory(), 'repository');
    const gid = 4242;
    const local = new LocalSink({ name: 'local', root, gid });
    const umask = process.umask(0o077);
    try {
      await local.put('data/x/000000.part', Buffer.from('shared'));
    } finally {
      process.umask(umask);
    }
    for (const [entry, mode] of [
      [root, 0o750],
      [path.join(root, 'data', 'x'), 0o750],
      [path.join(root, 'data', 'x', '000000.part'), 0o640],
    ] as const) {
      const stats = await stat(entry);
      assert.equal([stats.mode & 0o777, stats.gid], [mode, gid], entry);
    }
  },
);

sink('refuses keys that would leave the repository', async () => {
  const local = new LocalSink({ name: 'local', root: await temporaryDirectory() });
  try {
    await local.put('data/../../escape', Buffer.from('x'));
    assert.unreachable();
  } catch (error) {
    assert.match((error as Error).message, /invalid object key/);
  }
});

sink('a writer killed mid-write leaves no visible object; its temporary file is listed as garbage and deleted', async () => {
  const root = await temporaryDirectory();
  const writer = path.join(path.dirname(fileURLToPath(import.meta.url)), 'LocalSink.js');
  const script = `
    const { LocalSink } = await import(${JSON.stringify(writer)});
    const sink = new LocalSink({ name: 'local', root: ${JSON.stringify(root)} });
    process.stdout.write('ready\\n');
    await sink.put('data/big/000000.part', Buffer.alloc(1024 * 1024 * 1024, 7));
    process.stdout.write('done\\n');
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  await waitFor(
    "the writer's temporary file",
    async () => (await allFiles(root).catch(() => [])).some((file) => file.includes('.tmp-')),
    60_000,
  );
  const local = new LocalSink({ name: 'local', root });
  const whileWriting: string[] = [];
  for await (const object of local.list('data/')) whileWriting.push(object.key);
  assert.equal(whileWriting, [], 'a write in progress is not listed');
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('close', resolve));
  const listed: string[] = [];
  for await (const object of local.list('data/')) listed.push(object.key);
  assert.equal(listed.length, 1);
  assert.match(
    listed[0]!,
    new RegExp(`^data/big/000000\\.part\\.tmp-${child.pid}-[0-9a-f]{8}$`),
    "the dead writer's temporary, under its own name",
  );
  try {
    await local.get('data/big/000000.part');
    assert.unreachable('a partial object is visible');
  } catch (error) {
    assert.is((error as RastError).code, ErrorCode.PART_MISSING);
  }
  await local.delete(listed[0]!);
  assert.equal(await allFiles(root), []);
});

sink.run();
