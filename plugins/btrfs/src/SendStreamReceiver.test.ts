import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { chmod, chown, link, lutimes, mkdir, rename, rm, symlink, truncate, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { removeAttribute, setAttribute } from '@napi-rs/xattr';
import { testNeeding } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeSpecialFile } from '@rast-backup/restore-kit';
import { BtrfsLab, labAvailable, labNeeds, sh } from './testing/BtrfsLab.js';
import { differential } from './testing/Differential.js';
import { cloneRange, writeAt } from './testing/SourceChanges.js';
import { ACL, CAPABILITY } from './testing/Attributes.js';

async function populate(root: string): Promise<void> {
  await mkdir(path.join(root, 'dir1', 'dir2', 'dir3'), { recursive: true });
  await writeFile(path.join(root, 'dir1', 'dir2', 'dir3', 'deep.txt'), 'deep\n');
  await writeFile(path.join(root, 'empty'), '');
  await writeFile(path.join(root, 'random.bin'), randomBytes(3_000_000));
  await writeAt(path.join(root, 'sparse'), 0, 'start');
  await writeAt(path.join(root, 'sparse'), 64 * 1024 * 1024, 'end');
  await writeFile(path.join(root, 'linked'), 'hard');
  await link(path.join(root, 'linked'), path.join(root, 'dir1', 'linked-too'));
  await symlink('dir1/dir2', path.join(root, 'relative-link'));
  await symlink('/etc/hostname', path.join(root, 'absolute-link'));
  await symlink('../../nowhere/at/all', path.join(root, 'dangling-link'));
  await lutimes(path.join(root, 'dangling-link'), 1_000_000, 1_000_000);
  await chown(path.join(root, 'relative-link'), 1234, 5678).catch(() => {});
  sh('chown', ['-h', '4321:8765', path.join(root, 'relative-link')]);
  sh('mkfifo', [path.join(root, 'fifo')]);
  makeSpecialFile(root, 'socket', 'socket');
  sh('mknod', [path.join(root, 'null-device'), 'c', '1', '3']);
  sh('mknod', [path.join(root, 'block-device'), 'b', '259', '1048575']);
  await writeFile(path.join(root, 'attributes'), 'x');
  await setAttribute(path.join(root, 'attributes'), 'user.note', 'kept');
  await setAttribute(path.join(root, 'attributes'), 'trusted.secret', randomBytes(300));
  await setAttribute(path.join(root, 'attributes'), 'system.posix_acl_access', ACL);
  await setAttribute(path.join(root, 'dir1'), 'system.posix_acl_default', ACL);
  await writeFile(path.join(root, 'capable'), '#!/bin/sh\n');
  await chown(path.join(root, 'capable'), 1000, 1000);
  await chmod(path.join(root, 'capable'), 0o755);
  await setAttribute(path.join(root, 'capable'), 'security.capability', CAPABILITY);
  await writeFile(path.join(root, 'setuid'), 's');
  await chown(path.join(root, 'setuid'), 1234, 5678);
  await chmod(path.join(root, 'setuid'), 0o4755);
  await mkdir(path.join(root, 'sticky'), { mode: 0o1777 });
  await chmod(path.join(root, 'sticky'), 0o1777);
  await mkdir(path.join(root, 'closed'));
  await writeFile(path.join(root, 'closed', 'inside'), 'x');
  await chmod(path.join(root, 'closed'), 0o500);
  await writeFile(path.join(root, 'name with spaces'), 'spaces');
  await writeFile(path.join(root, 'name\nwith\nnewlines'), 'newlines');
  await writeFile(Buffer.concat([Buffer.from(`${root}/latin1-`), Buffer.from([0xe9, 0xff])]), 'not utf-8');
  await utimes(path.join(root, 'random.bin'), 1_500_000_000.123456, 1_600_000_000.654321);
}

// ---

const receiver = suite('user-space receiver, differential against btrfs receive');

testNeeding(
  receiver,
  labAvailable,
  labNeeds,
  'every kind of entry and its metadata, then an incremental with renames, deletes, truncates and clones',
  async () => {
    await differential(
      [
        populate,
        async (root) => {
          await rename(path.join(root, 'empty'), path.join(root, 'renamed-empty'));
          await rename(path.join(root, 'dir1', 'dir2'), path.join(root, 'dir2'));
          await rename(path.join(root, 'dir1'), path.join(root, 'dir2', 'dir1'));
          await rm(path.join(root, 'dangling-link'));
          await truncate(path.join(root, 'random.bin'), 1000);
          sh('cp', ['--reflink=always', path.join(root, 'sparse'), path.join(root, 'sparse-clone')]);
          await chown(path.join(root, 'capable'), 1001, 1001);
          await setAttribute(path.join(root, 'capable'), 'security.capability', CAPABILITY);
          await writeFile(path.join(root, 'attributes'), 'rewritten');
          await removeAttribute(path.join(root, 'attributes'), 'user.note');
          await rm(path.join(root, 'null-device'));
          sh('mknod', [path.join(root, 'null-device'), 'c', '1', '5']);
        },
      ],
      { sparse: /sparse/ },
    );
  },
);

testNeeding(
  receiver,
  labAvailable,
  labNeeds,
  'directory renames: swaps, a parent moved under its former child, a file renamed over another',
  async () => {
    await differential([
      async (root) => {
        await mkdir(path.join(root, 'a', 'b', 'c', 'd'), { recursive: true });
        await mkdir(path.join(root, 'x', 'y'), { recursive: true });
        for (const directory of ['a', 'a/b', 'a/b/c', 'a/b/c/d', 'x', 'x/y']) await writeFile(path.join(root, directory, 'f'), directory);
        await writeFile(path.join(root, 'one'), '1');
        await writeFile(path.join(root, 'two'), '2');
      },
      async (root) => {
        await rename(path.join(root, 'a', 'b', 'c'), path.join(root, 'c'));
        await rename(path.join(root, 'a'), path.join(root, 'c', 'd', 'a'));
        await rename(path.join(root, 'x'), path.join(root, 'tmp'));
        await rename(path.join(root, 'tmp', 'y'), path.join(root, 'x'));
        await rename(path.join(root, 'tmp'), path.join(root, 'x', 'tmp'));
        await rename(path.join(root, 'one'), path.join(root, 'two'));
      },
      async (root) => {
        await rename(path.join(root, 'c', 'd'), path.join(root, 'd'));
        await rename(path.join(root, 'c'), path.join(root, 'd', 'a', 'c'));
        await rename(path.join(root, 'x', 'tmp', 'f'), path.join(root, 'x', 'f'));
      },
    ]);
  },
);

testNeeding(
  receiver,
  labAvailable,
  labNeeds,
  'orphans and rmdir order: non-empty trees deleted, a directory replaced by a file and back',
  async () => {
    await differential([
      async (root) => {
        await mkdir(path.join(root, 'tree', 'sub', 'deeper'), { recursive: true });
        await writeFile(path.join(root, 'tree', 'sub', 'deeper', 'keep'), 'keep');
        await writeFile(path.join(root, 'tree', 'sub', 'gone'), 'gone');
        await mkdir(path.join(root, 'becomes-file'));
        await writeFile(path.join(root, 'becomes-dir'), 'file');
      },
      async (root) => {
        await rename(path.join(root, 'tree', 'sub', 'deeper', 'keep'), path.join(root, 'keep'));
        await rm(path.join(root, 'tree'), { recursive: true });
        await rm(path.join(root, 'becomes-file'), { recursive: true });
        await writeFile(path.join(root, 'becomes-file'), 'now a file');
        await rm(path.join(root, 'becomes-dir'));
        await mkdir(path.join(root, 'becomes-dir', 'tree'), { recursive: true });
      },
      async (root) => {
        await rm(path.join(root, 'becomes-dir'), { recursive: true });
        await mkdir(path.join(root, 'tree'));
        await rename(path.join(root, 'keep'), path.join(root, 'tree', 'keep'));
      },
    ]);
  },
);

testNeeding(receiver, labAvailable, labNeeds, 'hard links: added, removed, the first name deleted, renamed over each other', async () => {
  await differential([
    async (root) => {
      await mkdir(path.join(root, 'd1'));
      await mkdir(path.join(root, 'd2'));
      await writeFile(path.join(root, 'd1', 'a'), 'a');
      await link(path.join(root, 'd1', 'a'), path.join(root, 'd2', 'a1'));
      await link(path.join(root, 'd1', 'a'), path.join(root, 'd2', 'a2'));
      await writeFile(path.join(root, 'b'), 'b');
      await link(path.join(root, 'b'), path.join(root, 'b-link'));
    },
    async (root) => {
      await rm(path.join(root, 'd1', 'a'));
      await link(path.join(root, 'd2', 'a1'), path.join(root, 'd1', 'a-again'));
      await rename(path.join(root, 'b-link'), path.join(root, 'd2', 'a2'));
      await writeFile(path.join(root, 'd1', 'a'), 'a new file with the old name');
      await rename(path.join(root, 'd1'), path.join(root, 'd2', 'd1'));
    },
    async (root) => {
      await rm(path.join(root, 'd2', 'a1'));
      await link(path.join(root, 'b'), path.join(root, 'd2', 'a1'));
      await rename(path.join(root, 'd2', 'd1', 'a-again'), path.join(root, 'a-again'));
    },
  ]);
});

testNeeding(receiver, labAvailable, labNeeds, 'inode numbers reused by new files after a remount', async () => {
  await differential([
    async (root) => {
      await mkdir(path.join(root, 'dir'));
      await writeFile(path.join(root, 'dir', 'first'), 'first');
      await writeFile(path.join(root, 'last'), 'last');
    },
    async (root, lab) => {
      await rm(path.join(root, 'last'));
      await rm(path.join(root, 'dir'), { recursive: true });
      lab.remount();
      await writeFile(path.join(root, 'dir'), 'a file where the directory was, maybe with its inode');
      await mkdir(path.join(root, 'last'));
      await writeFile(path.join(root, 'last', 'first'), 'new');
    },
  ]);
});

testNeeding(
  receiver,
  labAvailable,
  labNeeds,
  'clones: within a snapshot, and from the parent after the source was moved, overwritten in place, truncated or deleted',
  async () => {
    const data = randomBytes(4 * 1024 * 1024);
    await differential([
      async (root) => {
        await writeFile(path.join(root, 'orig'), data);
        await writeFile(path.join(root, 'other'), randomBytes(1024 * 1024));
        await writeFile(path.join(root, 'victim'), randomBytes(2 * 1024 * 1024));
        await writeFile(path.join(root, 'doomed'), randomBytes(1024 * 1024));
        sh('cp', ['--reflink=always', path.join(root, 'orig'), path.join(root, 'copy-in-full')]);
        cloneRange(path.join(root, 'orig'), 1024 * 1024, 512 * 1024, path.join(root, 'part'), 64 * 1024);
        cloneRange(path.join(root, 'orig'), 0, 256 * 1024, path.join(root, 'orig'), 3 * 1024 * 1024 + 512 * 1024);
      },
      async (root) => {
        // The clones below read the parent's data by the parent's paths, which this same stream changes first.
        sh('cp', ['--reflink=always', path.join(root, 'orig'), path.join(root, 'clone-of-moved')]);
        sh('cp', ['--reflink=always', path.join(root, 'victim'), path.join(root, 'clone-of-overwritten')]);
        sh('cp', ['--reflink=always', path.join(root, 'doomed'), path.join(root, 'clone-of-deleted')]);
        cloneRange(path.join(root, 'other'), 0, 512 * 1024, path.join(root, 'zz-range-of-truncated'), 0);
        await rename(path.join(root, 'orig'), path.join(root, 'moved'));
        await writeFile(path.join(root, 'orig'), 'a new file at the old path');
        await writeAt(path.join(root, 'victim'), 0, randomBytes(1024 * 1024));
        await truncate(path.join(root, 'other'), 100);
        await rm(path.join(root, 'doomed'));
        await writeAt(path.join(root, 'moved'), 2 * 1024 * 1024, randomBytes(4096));
        cloneRange(path.join(root, 'copy-in-full'), 0, 1024 * 1024, path.join(root, 'copy-in-full'), 2 * 1024 * 1024);
      },
      async (root) => {
        sh('cp', ['--reflink=always', path.join(root, 'clone-of-moved'), path.join(root, 'third')]);
        await rm(path.join(root, 'clone-of-moved'));
        await writeFile(path.join(root, 'clone-of-overwritten'), 'replaced');
      },
    ]);
  },
);

testNeeding(
  receiver,
  labAvailable,
  labNeeds,
  'holes and preallocation: sparse files, fallocate, punched holes, truncation up and down',
  async () => {
    await differential(
      [
        async (root) => {
          await writeAt(path.join(root, 'holes'), 0, randomBytes(200_000));
          await writeAt(path.join(root, 'holes'), 8 * 1024 * 1024, randomBytes(200_000));
          await truncate(path.join(root, 'holes'), 32 * 1024 * 1024);
          sh('fallocate', ['-l', '2M', path.join(root, 'preallocated')]);
          await writeAt(path.join(root, 'keep-size'), 0, 'small');
          sh('fallocate', ['-n', '-o', '0', '-l', '4M', path.join(root, 'keep-size')]);
          await writeFile(path.join(root, 'only-a-hole'), '');
          await truncate(path.join(root, 'only-a-hole'), 16 * 1024 * 1024);
          await writeFile(path.join(root, 'dense'), randomBytes(6 * 1024 * 1024));
        },
        async (root) => {
          sh('fallocate', ['-p', '-o', '1M', '-l', '3M', path.join(root, 'dense')]);
          await truncate(path.join(root, 'holes'), 4 * 1024 * 1024);
          await truncate(path.join(root, 'only-a-hole'), 40 * 1024 * 1024);
          await writeAt(path.join(root, 'preallocated'), 4096, 'written into preallocated space');
          await writeAt(path.join(root, 'holes'), 20 * 1024 * 1024, 'past the end');
        },
        // Preallocated space is not sparse-checked: protocol 1 sends it as a hole.
      ],
      { sparse: /hole/ },
    );
  },
);

testNeeding(
  receiver,
  labAvailable,
  labNeeds,
  'holes and clones onto ext4 and tmpfs: the bytes of btrfs receive, and no more blocks per file than it allocates',
  async () => {
    const lab = await BtrfsLab.create();
    const root = lab.source;
    await writeFile(path.join(root, 'dense'), randomBytes(3 * 1024 * 1024 + 1000));
    for (let island = 1; island <= 4; island += 1)
      await writeAt(path.join(root, 'islands'), island * 4 * 1024 * 1024, randomBytes(256 * 1024));
    await truncate(path.join(root, 'islands'), 24 * 1024 * 1024);
    await writeFile(path.join(root, 'only-a-hole'), '');
    await truncate(path.join(root, 'only-a-hole'), 64 * 1024 * 1024);
    sh('cp', ['--reflink=always', path.join(root, 'dense'), path.join(root, 'dense-clone')]);
    sh('cp', ['--reflink=always', path.join(root, 'islands'), path.join(root, 'islands-clone')]);
    await writeFile(path.join(root, 'partial-clone'), randomBytes(2 * 1024 * 1024));
    cloneRange(path.join(root, 'islands'), 4 * 1024 * 1024, 1024 * 1024, path.join(root, 'partial-clone'), 1024 * 1024);
    const snapshot = lab.snapshot();
    for (const kind of ['tmpfs', 'ext4'] as const) {
      for (const proto of ['1', '2']) {
        const stream = lab.send(snapshot, undefined, ['--proto', proto]);
        const received = lab.btrfsReceive([stream], path.basename(snapshot));
        const destination = path.join(await lab.destination(kind, 256), 'restored');
        await mkdir(destination);
        await BtrfsLab.receive([stream], destination);
        for (const name of ['dense', 'dense-clone', 'islands', 'islands-clone', 'only-a-hole', 'partial-clone']) {
          const [ours, theirs] = [path.join(destination, name), path.join(received, name)];
          assert.ok(readFileSync(ours).equals(readFileSync(theirs)), `${name} onto ${kind}, --proto ${proto}: the same bytes`);
          const [blocks, btrfsBlocks] = [statSync(ours).blocks, statSync(theirs).blocks];
          assert.ok(blocks <= btrfsBlocks + 8, `${name} onto ${kind}, --proto ${proto}: ${blocks} blocks, btrfs receive ${btrfsBlocks}`);
        }
      }
    }
  },
);

testNeeding(receiver, labAvailable, labNeeds, 'compressed extents sent as they are (v2 --compressed-data, zlib and zstd)', async () => {
  const lab = await BtrfsLab.create();
  const compressible = (seed: string) => Buffer.from(Array.from({ length: 60_000 }, (_, i) => `${seed} line ${i % 977}\n`).join(''));
  await differential(
    [
      async (root) => {
        sh('mount', ['-o', 'remount,compress-force=zstd', lab.mountPoint]);
        await writeFile(path.join(root, 'zstd'), compressible('zstd'));
        sh('mount', ['-o', 'remount,compress-force=zlib', lab.mountPoint]);
        await writeFile(path.join(root, 'zlib'), compressible('zlib'));
        await writeAt(path.join(root, 'zlib-tail'), 5000, compressible('tail'));
      },
      async (root) => {
        sh('mount', ['-o', 'remount,compress-force=zstd', lab.mountPoint]);
        await writeAt(path.join(root, 'zlib'), 100_000, compressible('overwritten'));
        await truncate(path.join(root, 'zstd'), 123_457);
        sh('cp', ['--reflink=always', path.join(root, 'zlib-tail'), path.join(root, 'zlib-clone')]);
      },
    ],
    {
      lab,
      flags: [
        ['--proto', '2', '--compressed-data'],
        ['--proto', '1'],
      ],
    },
  );
  const stream = sh('btrfs', ['receive', '--dump', '-f', path.join(lab.home, 'streams', 's0--proto2--compressed-data.stream')]);
  assert.match(stream, /encoded_write.*compression=(1|zlib)\b/, 'the stream holds zlib extents');
  assert.match(stream, /encoded_write.*compression=(2|zstd)\b/, 'the stream holds zstd extents');
});

testNeeding(receiver, labAvailable, labNeeds, 'xattrs and capabilities changed, removed, and re-sent after a chown', async () => {
  await differential([
    async (root) => {
      await writeFile(path.join(root, 'file'), 'x');
      await setAttribute(path.join(root, 'file'), 'user.a', 'one');
      await setAttribute(path.join(root, 'file'), 'user.b', Buffer.alloc(4000, 1));
      await mkdir(path.join(root, 'dir'));
      await setAttribute(path.join(root, 'dir'), 'user.on-a-directory', 'yes');
      await setAttribute(path.join(root, 'dir'), 'system.posix_acl_default', ACL);
      await writeFile(path.join(root, 'capable'), '#!/bin/sh\n');
      await setAttribute(path.join(root, 'capable'), 'security.capability', CAPABILITY);
      await writeFile(path.join(root, 'empty-value'), '');
      await setAttribute(path.join(root, 'empty-value'), 'user.empty', Buffer.alloc(0));
    },
    async (root) => {
      await setAttribute(path.join(root, 'file'), 'user.a', 'two');
      await removeAttribute(path.join(root, 'file'), 'user.b');
      await chown(path.join(root, 'capable'), 42, 42);
      await setAttribute(path.join(root, 'capable'), 'security.capability', CAPABILITY);
      await writeAt(path.join(root, 'capable'), 0, '#!/bin/bash');
      await setAttribute(path.join(root, 'capable'), 'security.capability', CAPABILITY);
      await removeAttribute(path.join(root, 'dir'), 'system.posix_acl_default');
    },
  ]);
});

testNeeding(receiver, labAvailable, labNeeds, 'long paths: 255-byte names, paths near PATH_MAX, a deep tree moved', async () => {
  await differential([
    async (root) => {
      const long = 'n'.repeat(255);
      let deep = root;
      for (let depth = 0; depth < 14; depth += 1) deep = path.join(deep, `${long.slice(0, 250)}${depth}`);
      await mkdir(deep, { recursive: true });
      await writeFile(path.join(deep, 'leaf'), 'leaf');
      await writeFile(path.join(root, long), 'long name');
      let many = path.join(root, 'many');
      for (let depth = 0; depth < 300; depth += 1) many = path.join(many, 'd');
      await mkdir(many, { recursive: true });
      await writeFile(path.join(many, 'bottom'), 'bottom');
    },
    async (root) => {
      await rename(path.join(root, 'n'.repeat(250) + '0'), path.join(root, 'moved'));
      await rename(path.join(root, 'many', 'd', 'd'), path.join(root, 'many-moved'));
    },
  ]);
});

receiver.run();
