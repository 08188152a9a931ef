import { spawnSync } from 'node:child_process';
import { appendFile, chmod, lstat, mkdir, rename, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createBackup, createRuntime, IndexScan, type Manifest, type Runtime } from '@rast-backup/core';
import { silentLogger, temporaryDirectory } from '@rast-backup/core/testing';
import local from '@rast-backup/plugin-local';
import zstd from '@rast-backup/plugin-zstd';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import directory from './index.js';
import { statsFields } from './EntryDescription.js';
import { statsOnLine, unchangedOnLine } from './StoredStats.js';

async function runtime(): Promise<Runtime> {
  const configDirectory = await temporaryDirectory();
  const configFile = path.join(configDirectory, 'config.toml');
  await writeFile(configFile, `[storage]\nlocal.path = ${JSON.stringify(path.join(configDirectory, 'repository'))}\n`);
  return createRuntime({ configFile, defaultPresets: [local, directory, zstd], resolveFrom: [], log: silentLogger() });
}

/** Each path of the backup's index with its stored line. */
async function storedLines(rt: Runtime, manifest: Manifest): Promise<Map<string, Buffer>> {
  const scan = await IndexScan.of(await rt.repository.indexes.open(manifest));
  const lines = new Map<string, Buffer>();
  for (; scan.path !== undefined; await scan.next()) lines.set(scan.path, Buffer.from(scan.line()));
  return lines;
}

const stats = (source: string, relative: string) => lstat(path.join(source, relative), { bigint: true });

// ---

const stored = suite('directory backups: an entry judged unchanged from its parent record as stored');

stored('every entry of an untouched tree is judged unchanged from its line; each kind of change is not', async () => {
  const source = await temporaryDirectory();
  await mkdir(path.join(source, 'dir', 'sub'), { recursive: true });
  for (const name of ['a', 'b', 'dir/c', 'dir/sub/d', 'mode', 'time', 'grows', 'replaced']) await writeFile(path.join(source, name), name);
  await writeFile(path.join(source, 'name "quoted" \\ é'), 'escaped in JSON');
  await symlink('a', path.join(source, 'link'));
  spawnSync('mkfifo', [path.join(source, 'fifo')]);
  const rt = await runtime();
  const manifest = await createBackup(rt, { path: source });
  const lines = await storedLines(rt, manifest);
  assert.is(lines.size, 14);
  for (const [relative, line] of lines) assert.ok(unchangedOnLine({ stats: await stats(source, relative) }, line), `${relative}: ${line}`);

  await chmod(path.join(source, 'mode'), 0o600);
  await utimes(path.join(source, 'time'), 1_000_000_000, 1_000_000_000);
  await appendFile(path.join(source, 'grows'), 'more');
  await writeFile(path.join(source, 'replacement'), 'replaced');
  await rename(path.join(source, 'replacement'), path.join(source, 'replaced'));
  for (const relative of ['mode', 'time', 'grows', 'replaced', '.'])
    assert.not.ok(statsOnLine(lines.get(relative)!, await stats(source, relative)), relative);
  assert.ok(statsOnLine(lines.get('a')!, await stats(source, 'a')));
});

stored('a record written in another order, or another type, is not judged from its bytes (the caller parses it)', async () => {
  const source = await temporaryDirectory();
  await writeFile(path.join(source, 'f'), 'f');
  const rt = await runtime();
  const lines = await storedLines(rt, await createBackup(rt, { path: source }));
  const line = lines.get('f')!;
  const fileStats = await stats(source, 'f');
  assert.ok(statsOnLine(line, fileStats));
  const record = JSON.parse(line.toString()) as Record<string, unknown>;
  const { path: recordPath, type, ...rest } = record;
  assert.not.ok(statsOnLine(Buffer.from(JSON.stringify({ path: recordPath, ...rest, type })), fileStats), 'type after the others');
  assert.not.ok(statsOnLine(Buffer.from(JSON.stringify({ ...record, type: 'hardlink' })), fileStats), 'a hard link');
  assert.not.ok(unchangedOnLine({ stats: { ...fileStats, nlink: 2n } }, line), 'a file with two names');
});

stored('numbers compared exactly as digits: 64-bit inodes and times, leading zeros, a sign, a digit more or less', () => {
  const fields = { dev: 1n, nlink: 1n, rdev: 0n, blocks: 8n, mode: 0o100644n, uid: 1000n, gid: 1000n, size: 4096n };
  const line = (record: Record<string, unknown>) => Buffer.from(JSON.stringify({ path: 'f', ...record, from: 'b1' }));
  const cases = [
    { ino: 18446744073709551557n, mtimeNs: 1733313600123456789n, ctimeNs: 1733313600123456789n },
    { ino: 9007199254740993n, mtimeNs: 1000000000n, ctimeNs: 999999999n },
    { ino: 2n, mtimeNs: 0n, ctimeNs: 5n },
  ];
  for (const times of cases) {
    const stats = { ...fields, ...times };
    const record = statsFields(stats);
    assert.ok(statsOnLine(line(record), stats), JSON.stringify(record));
    for (const key of ['mtime', 'ctime', 'inode'] as const) {
      const written = record[key]!;
      for (const other of [
        `0${written}`,
        `${written}0`,
        written.slice(0, -1) || '1',
        `${BigInt(written) + 1n}`,
        `${BigInt(written) - 1n}`,
        `-${written}`,
      ])
        if (other !== written) assert.not.ok(statsOnLine(line({ ...record, [key]: other }), stats), `${key} ${other} for ${written}`);
    }
  }
  // A time before 1970 is never judged from the line: the record is parsed.
  const before = { ...fields, ino: 3n, mtimeNs: -1500000000n, ctimeNs: 1n };
  assert.not.ok(statsOnLine(line(statsFields(before)), before));
});

stored.run();
