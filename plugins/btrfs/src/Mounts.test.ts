import { spawnSync } from 'node:child_process';
import { mkdir, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { testNeeding } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { btrfsUuidOf, isMountPoint, mountOf } from './Mounts.js';
import { BtrfsLab, labAvailable, labNeeds, sh } from './testing/BtrfsLab.js';

const test = suite('Mounts');

/** What findmnt (util-linux), which the plugin used before, says of `target`. */
function findmnt(target: string): { target: string; source: string; type: string; uuid: string } {
  const [found = '', source = '', type = '', uuid = ''] = sh('findmnt', [
    '-n',
    '-o',
    'TARGET,SOURCE,FSTYPE,UUID',
    '--nofsroot',
    '--target',
    target,
  ])
    .trim()
    .split(/\s+/);
  return { target: found, source, type, uuid };
}

testNeeding(
  test,
  labAvailable,
  labNeeds,
  'the mount holding a path, its btrfs UUID and mount points agree with findmnt, through a directory whose name needs escaping',
  async () => {
    const lab = await BtrfsLab.create(200);
    const odd = path.join(lab.source, 'a dir\twith\\odd names');
    await mkdir(odd, { recursive: true });
    for (const target of ['/', '/proc/self', lab.mountPoint, lab.source, odd]) {
      const expected = findmnt(target);
      const mount = await mountOf(target);
      assert.equal(
        { target: mount?.mountPoint, source: mount?.source, type: mount?.type },
        { target: expected.target, source: expected.source, type: expected.type },
        target,
      );
    }
    const device = (await mountOf(lab.source))!.source;
    assert.is(await btrfsUuidOf(device), findmnt(lab.source).uuid);
    assert.is(await btrfsUuidOf('/dev/null'), undefined, 'no btrfs filesystem is on /dev/null');

    // A second mount of the same filesystem on a path with a space: a mount point; the directory beneath it is not.
    const spaced = path.join(lab.home, 'top level');
    await mkdir(spaced);
    assert.is(await isMountPoint(spaced), false);
    sh('mount', ['-t', 'btrfs', '-o', 'subvolid=5,private', device, spaced]);
    try {
      assert.is(await isMountPoint(spaced), true);
      assert.is((await mountOf(path.join(spaced, 'data')))?.mountPoint, spaced);
      assert.is(await isMountPoint(lab.home), false);
    } finally {
      spawnSync('umount', [spaced]);
      await rmdir(spaced);
    }
  },
);

test.run();
