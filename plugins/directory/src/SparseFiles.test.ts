import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createBackup, createRuntime, pathBytes, restoreBackup, verifyBackup, type Runtime } from '@rast-backup/core';
import { silentLogger, temporaryDirectory } from '@rast-backup/core/testing';
import local from '@rast-backup/plugin-local';
import zstd from '@rast-backup/plugin-zstd';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import directory from './index.js';

const MiB = 1024 * 1024;

async function runtime(repository: string): Promise<Runtime> {
  const configFile = path.join(await temporaryDirectory(), 'config.toml');
  await writeFile(configFile, `[storage]\nlocal.path = ${JSON.stringify(repository)}\n\n[backup]\npart_size_mib = 1\n`);
  return createRuntime({ configFile, defaultPresets: [local, directory, zstd], resolveFrom: [], log: silentLogger() });
}

async function writeAt(file: string | Buffer, offset: number, text: string): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    await handle.write(Buffer.from(text.repeat(4096 / text.length)), 0, 4096, offset);
  } finally {
    await handle.close();
  }
}

async function sha256(file: Buffer): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 4 * MiB })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Size, allocated bytes and content hash of each of `names` (index paths: not UTF-8 bytes escaped) under `root`. */
async function describe(root: string, names: string[]): Promise<Record<string, { size: number; allocated: number; sha: string }>> {
  const result: Record<string, { size: number; allocated: number; sha: string }> = {};
  for (const name of names) {
    const file = Buffer.concat([Buffer.from(`${root}/`), pathBytes(name)]);
    const stats = await stat(file);
    result[name] = { size: stats.size, allocated: stats.blocks * 512, sha: await sha256(file) };
  }
  return result;
}

/** Each file of `copy` has the size and content of the source's, and no more than 1 MiB allocated. */
function assertSparseCopy(copy: Awaited<ReturnType<typeof describe>>, original: Awaited<ReturnType<typeof describe>>, what: string): void {
  for (const [name, facts] of Object.entries(copy)) {
    assert.is(facts.size, original[name]!.size, `${what}: ${name} size`);
    assert.is(facts.sha, original[name]!.sha, `${what}: ${name} content`);
    assert.ok(facts.allocated <= MiB, `${what}: ${name} has ${facts.allocated} bytes allocated (source: ${original[name]!.allocated})`);
  }
}

const sparse = suite('directory backups: sparse files');

sparse('holes stay holes: full, incremental, partial restore, verify, and GNU tar extracting the stream', async () => {
  const source = await temporaryDirectory();
  // A disk image with data inside and a hole at the end, one with data at the end, one that is all hole, one named in Latin-1.
  const image = path.join(source, 'vm.img');
  await writeFile(image, '');
  await truncate(image, 256 * MiB);
  await writeAt(image, 0, 'boot');
  await writeAt(image, 100 * MiB + 8192, 'data');
  const tail = path.join(source, 'tail.img');
  await writeFile(tail, '');
  await truncate(tail, 64 * MiB);
  await writeAt(tail, 64 * MiB - 4096, 'tail');
  const empty = path.join(source, 'empty.img');
  await writeFile(empty, '');
  await truncate(empty, 32 * MiB);
  const latin1 = Buffer.concat([Buffer.from(`${source}/disk-`), Buffer.from([0xe9]), Buffer.from('.img')]);
  await writeFile(latin1, '');
  await truncate(latin1, 16 * MiB);
  await writeAt(latin1, 8 * MiB, 'name');
  await writeFile(path.join(source, 'plain.txt'), 'not sparse\n');
  const names = ['vm.img', 'tail.img', 'empty.img', 'disk-\udce9.img'];
  const original = await describe(source, names);
  assert.ok(
    original['vm.img']!.allocated <= 64 * 1024,
    `the test's filesystem keeps holes (vm.img has ${original['vm.img']!.allocated} bytes allocated)`,
  );

  const repository = await temporaryDirectory();
  const rt = await runtime(repository);
  const full = await createBackup(rt, { path: source });
  assert.ok(full.size < MiB, `the stream does not store the holes (${full.size} bytes)`);
  const index = await (await rt.repository.indexes.open(full)).load();
  assert.is(index.entries.find((entry) => entry.path === 'vm.img')!.size, 256 * MiB, 'the index records the real size');
  await verifyBackup(rt, { backup: full.id });

  const restore = async (backup: string, include: string[] = []) => {
    const destination = path.join(await temporaryDirectory(), 'restored');
    await restoreBackup(rt, { backup, destination, include });
    return destination;
  };
  assertSparseCopy(await describe(await restore(full.id), names), original, 'full restore');
  assertSparseCopy(await describe(await restore(full.id, ['/vm.img', 'tail.img']), ['vm.img', 'tail.img']), original, 'partial restore');

  await writeAt(image, 200 * MiB, 'more');
  const changed = await describe(source, names);
  const incremental = await createBackup(rt, { path: source, parent: full.id });
  assert.ok(incremental.size < MiB, `the incremental does not store the holes (${incremental.size} bytes)`);
  await verifyBackup(rt, { backup: incremental.id });
  assertSparseCopy(await describe(await restore(incremental.id), names), changed, 'incremental restore');
  assertSparseCopy(await describe(await restore(incremental.id, ['vm.img']), ['vm.img']), changed, 'incremental partial restore');

  // Without this tool: the parts decompressed and concatenated are a tar that GNU tar extracts, holes kept.
  const extracted = await temporaryDirectory();
  const parts = full.parts.map((part) => path.join(repository, part.key)).join(' ');
  const tar = spawnSync('sh', ['-c', `cat ${parts} | zstd -d | tar -xf - -C ${extracted}`], { encoding: 'utf8' });
  assert.is(tar.status, 0, tar.stderr);
  assert.is(tar.stderr, '');
  assertSparseCopy(await describe(extracted, names), original, 'GNU tar -x');
});

sparse.run();
