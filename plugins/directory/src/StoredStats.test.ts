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
import { statsOnLine, unchangedOnLine } from './StoredStats.js';

async function runtime(): Promise<Runtime> {
  const configDirectory = await temporaryDirectory();
  const configFile = path.join(configDirectory, 'config.toml');
  await writeFile(configFile, `[storage]\nlocal.path = ${JSON.stringify(path.join(configDirectory, 'repository'))}\n`);
  return createRuntime({ configFile, defaultPresets: [local, directory, zstd], resolveFrom: [], log: silentLogger() });
}

/** Each path of the backup's index with its stored line. */
async function storedLines(rt: Runtime, manifest: Manifest): Promise<Map<string, string>> {
  const scan = await IndexScan.of(await rt.repository.indexes.open(manifest));
  const lines = new Map<string, string>();
  for (; scan.path !== undefined; await scan.next()) lines.set(scan.path, scan.line());
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
  const record = JSON.parse(line) as Record<string, unknown>;
  const { path: recordPath, type, ...rest } = record;
  assert.not.ok(statsOnLine(JSON.stringify({ path: recordPath, ...rest, type }), fileStats), 'type after the others');
  assert.not.ok(statsOnLine(JSON.stringify({ ...record, type: 'hardlink' }), fileStats), 'a hard link');
  assert.not.ok(unchangedOnLine({ stats: { ...fileStats, nlink: 2n } }, line), 'a file with two names');
});

stored.run();
