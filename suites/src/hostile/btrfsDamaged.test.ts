import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { temporaryDirectory, testNeeding } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { canLoopMount, cliAsync, loopFilesystem, sh, writeConfig } from '../support.js';
import { assertNoCrash, assertOneLineError } from './expectations.js';
import { hasZstd, plainPart, readManifest, resealObject } from './ForgedBackup.js';

const test = suite('hostile: damaged btrfs send streams');

testNeeding(
  test,
  canLoopMount && hasZstd,
  'root, btrfs-progs and zstd',
  'a send stream damaged under a good checksum fails verify and restore cleanly and leaves nothing behind',
  async () => {
    const { mountPoint } = await loopFilesystem('btrfs', '300M', 'rast-hostile-btrfs-');
    const home = await temporaryDirectory('rast-hostile-btrfs-repo-');
    const volume = path.join(mountPoint, 'volume');
    sh('btrfs', ['subvolume', 'create', volume]);
    for (let i = 0; i < 20; i++) await writeFile(path.join(volume, `file-${i}.txt`), `line ${i}\n`.repeat(2000));
    const repository = path.join(home, 'repository');
    const config = await writeConfig(home, `[storage]\nlocal.path = ${JSON.stringify(repository)}\n`);
    const env = { RAST_BACKUP_STATE_DIR: path.join(home, 'state') };
    const created = await cliAsync(['create', volume, '--json', '--config', config], { env });
    assert.is(created.status, 0, created.stderr);
    const id = JSON.parse(created.stdout).id as string;
    assert.is((await readManifest(repository, id)).serializer.format, 'btrfs-send');

    const cases: Array<[string, (plain: Buffer) => Buffer]> = [
      [
        'a flipped byte in a command',
        (plain) => Buffer.from(plain.map((byte, offset) => (offset === Math.floor(plain.length / 2) ? byte ^ 0xff : byte))),
      ],
      ['a stream cut in half', (plain) => plain.subarray(0, Math.floor(plain.length / 2))],
    ];
    const original = await plainPart(repository, id, 0);
    for (const [name, damage] of cases) {
      await resealObject(repository, id, 0, damage(original));
      const verified = await cliAsync(['verify', id, '--config', config], { env, timeoutMs: 60_000 });
      assertNoCrash(verified, `${name}: verify`);
      assert.is(verified.status, 1, `${name}: verify exit ${verified.status}: ${verified.stdout}${verified.stderr}`);
      assert.match(verified.stderr, new RegExp(`rast-backup: damaged: backup ${id}`), `${name}: ${verified.stderr}`);

      const destination = path.join(mountPoint, `restored-${cases.findIndex(([other]) => other === name)}`);
      const before = (await readdir(mountPoint)).sort();
      const restored = await cliAsync(['restore', id, destination, '--config', config], { env, timeoutMs: 60_000 });
      assertOneLineError(restored, 1, new RegExp(`RB016: .*backup ${id}.*damaged`), `${name}: restore`);
      assert.equal((await readdir(mountPoint)).sort(), before, `${name}: restore left something on the filesystem`);
    }
  },
);

test.run();
