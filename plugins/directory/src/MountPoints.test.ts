import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createBackup, createRuntime, ErrorCode, type RastError, type Runtime } from '@rast-backup/core';
import { isRoot, silentLogger, temporaryDirectory, testNeeding } from '@rast-backup/core/testing';
import local from '@rast-backup/plugin-local';
import zstd from '@rast-backup/plugin-zstd';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import directory from './index.js';

async function runtime(extra = ''): Promise<{ rt: Runtime; warnings: string[] }> {
  const home = await temporaryDirectory();
  const configFile = path.join(home, 'config.toml');
  await writeFile(configFile, `[storage]\nlocal.path = ${JSON.stringify(path.join(home, 'repository'))}\n${extra}`);
  const log = silentLogger();
  return {
    rt: await createRuntime({ configFile, defaultPresets: [local, directory, zstd], resolveFrom: [], log }),
    warnings: log.warnings,
  };
}

function run(command: string, ...args: string[]): void {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr}`);
}

const mounts = suite('directory source: mount points');

testNeeding(
  mounts,
  isRoot,
  'root (to mount)',
  'other filesystems are kept as empty directories and named; crossing them is a setting; pseudo filesystems are never walked',
  async () => {
    const source = await temporaryDirectory();
    await writeFile(path.join(source, 'own-file'), 'here');
    await mkdir(path.join(source, 'other'));
    await mkdir(path.join(source, 'proc'));
    run('mount', '-t', 'tmpfs', 'tmpfs', path.join(source, 'other'));
    try {
      run('mount', '-t', 'proc', 'proc', path.join(source, 'proc'));
      try {
        await writeFile(path.join(source, 'other', 'mounted-file'), 'there');
        const staying = await runtime();
        const paths = async (rt: Runtime) =>
          (await (await rt.repository.indexes.open(await createBackup(rt, { path: source }))).load()).entries
            .map((entry) => entry.path)
            .sort();
        assert.equal(await paths(staying.rt), ['.', 'other', 'own-file', 'proc']);
        assert.is(staying.warnings.length, 1, staying.warnings.join('\n'));
        assert.match(staying.warnings[0]!, /2 mount points .*: other, proc \(proc\)$/);

        const crossing = await runtime('[directory]\none_file_system = false\n');
        assert.equal(await paths(crossing.rt), ['.', 'other', 'other/mounted-file', 'own-file', 'proc']);
        assert.is(crossing.warnings.length, 1, crossing.warnings.join('\n'));
        assert.match(crossing.warnings[0]!, /1 mount points .*: proc \(proc\)$/);
      } finally {
        run('umount', path.join(source, 'proc'));
      }
    } finally {
      run('umount', path.join(source, 'other'));
    }
  },
);

mounts('a pseudo filesystem as the source is refused', async () => {
  const { rt } = await runtime();
  for (const source of ['/proc/sys/fs/quota', '/sys/kernel/mm']) {
    try {
      await createBackup(rt, { path: source });
      assert.unreachable(`create ${source} is refused`);
    } catch (error) {
      assert.is((error as RastError).code, ErrorCode.SOURCE_INVALID, (error as Error).message);
    }
  }
});

mounts.run();
