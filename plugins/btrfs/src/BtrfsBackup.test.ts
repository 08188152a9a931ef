import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmod,
  chown,
  link,
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  symlink,
  truncate,
  writeFile,
  open,
} from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getAttribute, listAttributes, setAttribute } from '@napi-rs/xattr';
import { indexPath } from '@rast-backup/core';
import { isRoot, temporaryDirectory, testNeeding } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ACL, CAPABILITY } from './testing/Attributes.js';
import { sharedWithinTree } from './testing/SharedExtents.js';

const BINARY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'node_modules', '.bin', 'rast-backup');
const hasBtrfs = spawnSync('mkfs.btrfs', ['--version']).status === 0 && spawnSync('btrfs', ['--version']).status === 0;
const available = isRoot && hasBtrfs;
const needs = 'root and btrfs-progs (a loop-mounted btrfs image)';

function sh(command: string, args: string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

function cli(args: string[], options: SpawnSyncOptions = {}) {
  const result = spawnSync(BINARY, args, { encoding: 'utf8', ...options });
  return { status: result.status, stdout: String(result.stdout), stderr: String(result.stderr) };
}

function json(result: ReturnType<typeof cli>) {
  assert.is(result.status, 0, result.stderr);
  return JSON.parse(result.stdout);
}

/** A fresh loop-mounted btrfs filesystem with one subvolume `data`, and a config using it. */
async function btrfsFixture() {
  const home = await temporaryDirectory('rast-btrfs-');
  const image = path.join(home, 'fs.img');
  const mountPoint = path.join(home, 'mnt');
  await mkdir(mountPoint);
  sh('truncate', ['-s', '700M', image]);
  sh('mkfs.btrfs', ['-q', '-f', image]);
  sh('mount', ['-o', 'loop', image, mountPoint]);
  sh('btrfs', ['subvolume', 'create', path.join(mountPoint, 'data')]);
  const config = path.join(home, 'config.toml');
  await writeFile(config, `[storage]\nlocal.path = ${JSON.stringify(path.join(home, 'repository'))}\n[backup]\npart_size_mib = 1\n`);
  return { home, mountPoint, source: path.join(mountPoint, 'data'), config };
}

async function populate(root: string) {
  await mkdir(path.join(root, 'dir1', 'dir2', 'dir3'), { recursive: true });
  await writeFile(path.join(root, 'dir1', 'dir2', 'dir3', 'deep.txt'), 'deep\n');
  await writeFile(path.join(root, 'empty'), '');
  await writeFile(path.join(root, 'random.bin'), randomBytes(3_000_000));
  const sparse = await open(path.join(root, 'sparse'), 'w');
  await sparse.write(Buffer.from('start'), 0, 5, 0);
  await sparse.write(Buffer.from('end'), 0, 3, 64 * 1024 * 1024);
  await sparse.close();
  await writeFile(path.join(root, 'linked'), 'hard');
  await link(path.join(root, 'linked'), path.join(root, 'dir1', 'linked-too'));
  await symlink('dir1/dir2', path.join(root, 'relative-link'));
  await symlink('/etc/hostname', path.join(root, 'absolute-link'));
  await symlink('nowhere/at/all', path.join(root, 'dangling-link'));
  sh('mkfifo', [path.join(root, 'fifo')]);
  await writeFile(path.join(root, 'attributes'), 'x');
  await setAttribute(path.join(root, 'attributes'), 'user.note', 'kept');
  await setAttribute(path.join(root, 'attributes'), 'system.posix_acl_access', ACL);
  await writeFile(path.join(root, 'capable'), '#!/bin/sh\n');
  await chmod(path.join(root, 'capable'), 0o755);
  await setAttribute(path.join(root, 'capable'), 'security.capability', CAPABILITY);
  await writeFile(path.join(root, 'setuid'), 's');
  await chown(path.join(root, 'setuid'), 1234, 5678);
  await chmod(path.join(root, 'setuid'), 0o4755);
  await writeFile(path.join(root, 'name with spaces'), 'spaces');
  await writeFile(path.join(root, 'name\nwith\nnewlines'), 'newlines');
  await writeFile(Buffer.concat([Buffer.from(root + '/latin1-'), Buffer.from([0xe9, 0xff])]), 'not utf-8');
}

/** Per entry: type, mode, owner, µs mtime, size, content hash, symlink target, hard-link group, xattrs, allocated size of sparse files. */
async function fingerprint(root: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  const groups = new Map<bigint, string>();
  const visit = async (relative: Buffer) => {
    const absolute = relative.length ? Buffer.concat([Buffer.from(root + '/'), relative]) : Buffer.from(root);
    const stats = await lstat(absolute, { bigint: true });
    const key = relative.toString('latin1');
    const facts = [`mode=${stats.mode.toString(8)}`, `owner=${stats.uid}:${stats.gid}`];
    if (!stats.isDirectory()) facts.push(`mtime_us=${stats.mtimeNs / 1000n}`);
    if (stats.isFile()) {
      facts.push(
        `size=${stats.size}`,
        `sha=${createHash('sha256')
          .update(await readFile(absolute))
          .digest('hex')
          .slice(0, 16)}`,
      );
      if (stats.size > 1_000_000n) facts.push(`sparse=${stats.blocks * 512n < stats.size / 2n}`);
      if (stats.nlink > 1n) {
        if (!groups.has(stats.ino)) groups.set(stats.ino, key);
        facts.push(`group=${groups.get(stats.ino)}`);
      }
    }
    if (stats.isSymbolicLink()) facts.push(`target=${(await readlink(absolute)).toString()}`);
    if (!stats.isSymbolicLink()) {
      const name = absolute.toString('latin1');
      if (/^[\x00-\x7f]*$/.test(name))
        for (const xattr of (await listAttributes(name)).sort())
          facts.push(`${xattr}=${(await getAttribute(name, xattr))?.toString('hex')}`);
    }
    if (key) result[key] = facts.join(' ');
    if (stats.isDirectory()) {
      const names = (await readdir(absolute, { encoding: 'buffer' })).sort(Buffer.compare);
      for (const name of names) {
        if (!relative.length && name.toString() === '.rast-backup') continue;
        await visit(relative.length ? Buffer.concat([relative, Buffer.from('/'), name]) : name);
      }
    }
  };
  await visit(Buffer.alloc(0));
  return result;
}

/** The tree as the file index should describe it (index paths: names that are not UTF-8 escaped): path → type, mode, owner, size, µs mtime, target / link. */
async function treeView(root: string): Promise<Record<string, string>> {
  const view: Record<string, string> = {};
  const leaders = new Map<bigint, string>();
  const visit = async (relative: Buffer) => {
    const absolute = relative.length ? Buffer.concat([Buffer.from(root + '/'), relative]) : Buffer.from(root);
    const stats = await lstat(absolute, { bigint: true });
    const key = relative.length ? indexPath(relative) : '.';
    const type = stats.isFile()
      ? 'file'
      : stats.isDirectory()
        ? 'directory'
        : stats.isSymbolicLink()
          ? 'symlink'
          : stats.isFIFO()
            ? 'fifo'
            : 'other';
    const leader = stats.isFile() && stats.nlink > 1n ? leaders.get(stats.ino) : undefined;
    if (stats.isFile() && stats.nlink > 1n && leader === undefined) leaders.set(stats.ino, key);
    const extra =
      leader !== undefined
        ? `=> ${leader}`
        : stats.isSymbolicLink()
          ? `-> ${indexPath(await readlink(absolute, { encoding: 'buffer' }))}`
          : '';
    const mtime = type === 'directory' ? '' : String(stats.mtimeNs / 1000n);
    view[key] =
      `${leader !== undefined ? 'hardlink' : type} ${(Number(stats.mode) & 0o7777).toString(8)} ${stats.uid}:${stats.gid} ${leader !== undefined ? 0 : type === 'file' ? stats.size : 0} ${mtime} ${extra}`;
    if (stats.isDirectory()) {
      for (const name of (await readdir(absolute, { encoding: 'buffer' })).sort(Buffer.compare))
        await visit(relative.length ? Buffer.concat([relative, Buffer.from('/'), name]) : name);
    }
  };
  await visit(Buffer.alloc(0));
  return view;
}

function indexView(
  entries: Array<{
    path: string;
    type: string;
    mode: number;
    uid: number;
    gid: number;
    size: number;
    mtime: string;
    target?: string;
    linkTo?: string;
  }>,
): Record<string, string> {
  const view: Record<string, string> = {};
  for (const entry of entries) {
    const extra = entry.type === 'hardlink' ? `=> ${entry.linkTo}` : entry.type === 'symlink' ? `-> ${entry.target}` : '';
    const mtime = entry.type === 'directory' ? '' : String(BigInt(entry.mtime) / 1000n);
    view[entry.path] = `${entry.type} ${entry.mode.toString(8)} ${entry.uid}:${entry.gid} ${entry.size} ${mtime} ${extra}`;
  }
  return view;
}

// ---

const btrfs = suite('btrfs backups');

testNeeding(btrfs, available, needs, 'a chain of three restores exactly: with btrfs receive, and into a subvolume', async () => {
  const { mountPoint, source, config } = await btrfsFixture();
  await populate(source);
  await writeFile(path.join(source, 'shared'), randomBytes(2 * 1024 * 1024));
  sh('cp', ['--reflink=always', path.join(source, 'shared'), path.join(source, 'shared-clone')]);
  const before = await readdir(source);
  const first = json(cli(['create', source, '--json', '--config', config]));
  assert.is(first.format, 'btrfs-send');
  assert.equal(await readdir(source), before, 'create leaves the source tree unchanged');
  const state1 = await fingerprint(source);
  assert.equal(indexView(json(cli(['info', first.id, '--files', '--json', '--config', config])).files), await treeView(source));

  // Renames, a directory moved under its former child, deletes, truncates, reflink clones.
  await rename(path.join(source, 'empty'), path.join(source, 'renamed-empty'));
  await rename(path.join(source, 'dir1', 'dir2'), path.join(source, 'dir2'));
  await rename(path.join(source, 'dir1'), path.join(source, 'dir2', 'dir1'));
  await rm(path.join(source, 'dangling-link'));
  await truncate(path.join(source, 'random.bin'), 1000);
  sh('cp', ['--reflink=always', path.join(source, 'sparse'), path.join(source, 'sparse-clone')]);
  const second = json(cli(['create', source, '--parent', 'latest', '--json', '--config', config]));
  assert.is(second.parent, first.id);
  assert.equal(indexView(json(cli(['info', second.id, '--files', '--json', '--config', config])).files), await treeView(source));
  assert.ok(second.size < 100_000, `incremental stream is small (${second.size} bytes)`);
  const state2 = await fingerprint(source);

  await writeFile(path.join(source, 'dir2', 'dir1', 'new-file'), 'new');
  await rm(path.join(source, 'dir2', 'dir3'), { recursive: true });
  sh('cp', ['--reflink=always', path.join(source, 'random.bin'), path.join(source, 'random-clone')]);
  const third = json(cli(['create', source, '--parent', second.id, '--json', '--config', config]));
  const state3 = await fingerprint(source);
  // The index of an incremental backup is the whole resolved tree, built while the stream flowed past.
  const index3 = json(cli(['info', third.id, '--files', '--json', '--config', config]));
  assert.equal(indexView(index3.files), await treeView(source));

  for (const [backup, state] of [
    [third, state3],
    [second, state2],
    [first, state1],
  ] as const) {
    const shared: bigint[] = [];
    // By default btrfs receive; RAST_BACKUP_BTRFS_RECEIVER=subvolume: the user-space receiver into a subvolume.
    for (const receiver of [undefined, 'subvolume']) {
      const destination = path.join(mountPoint, `restored-${backup.id}-${receiver ?? 'default'}`);
      const restored = cli(['restore', backup.id, destination, '--config', config], {
        env: { ...process.env, RAST_BACKUP_BTRFS_RECEIVER: receiver },
      });
      assert.is(restored.status, 0, restored.stderr);
      assert.equal(await fingerprint(destination), state, `restore of ${backup.id} (${receiver ?? 'default'})`);
      shared.push(sharedWithinTree(destination));
      await writeFile(path.join(destination, 'writable'), 'yes');
      // A subvolume of its own, no longer marked as received (an incremental sent from it needs its own parent).
      assert.is((await lstat(destination)).ino, 256, 'a subvolume');
      assert.match(sh('btrfs', ['subvolume', 'show', destination]), /Received UUID:\s+-\n/);
    }
    // The reflinked copies share their extents, in the restore as in the source: at least `shared`'s 2 MiB.
    assert.ok(shared[1]! >= 2n * 1024n * 1024n, `reflinks of ${backup.id} shared: ${shared[1]} bytes`);
    // Along a chain, a clone from a parent file that the stream changed first is copied, not shared (btrfs.md).
    if (backup === first) assert.is(shared[1], shared[0], 'as many bytes shared as btrfs receive leaves shared');
    else assert.ok(shared[1]! <= shared[0]!, `no more bytes shared than btrfs receive leaves shared, ${backup.id}`);
    assert.is(cli(['verify', backup.id, '--config', config]).status, 0);
  }
  // Onto other filesystems, and onto btrfs when asked, the chain goes through the user-space receiver.
  const tmpfs = path.join(path.dirname(mountPoint), 'tmpfs');
  await mkdir(tmpfs);
  sh('mount', ['-t', 'tmpfs', '-o', 'size=300m', 'tmpfs', tmpfs]);
  for (const [backup, state] of [
    [third, state3],
    [second, state2],
    [first, state1],
  ] as const) {
    const destination = path.join(tmpfs, `restored-${backup.id}`);
    const restored = cli(['restore', backup.id, destination, '--json', '--config', config]);
    assert.is(restored.status, 0, restored.stderr);
    assert.equal(JSON.parse(restored.stdout).skipped, []);
    assert.equal(await fingerprint(destination), state, `user-space restore of ${backup.id} onto tmpfs`);
    await rm(destination, { recursive: true });
  }
  const forced = path.join(mountPoint, 'forced-user-space');
  const restored = cli(['restore', third.id, forced, '--config', config], {
    env: { ...process.env, RAST_BACKUP_BTRFS_RECEIVER: 'user-space' },
  });
  assert.is(restored.status, 0, restored.stderr);
  assert.equal(await fingerprint(forced), state3, 'user-space restore onto btrfs');
  assert.is.not((await lstat(forced)).ino, 256, 'a plain directory, not a subvolume');
  const subvolumes = sh('btrfs', ['subvolume', 'list', mountPoint]);
  assert.not.match(subvolumes, /\.rast-restore-/, 'no intermediate subvolumes are left');
  const info = json(cli(['info', third.id, '--json', '--config', config]));
  assert.match(info.facts['local snapshot'], /^kept/);
  assert.match(json(cli(['info', second.id, '--json', '--config', config])).facts['local snapshot'], /^gone/);
});

testNeeding(
  btrfs,
  available,
  needs,
  'a restore through btrfs receive counts the entries it received, as the user-space receiver does',
  async () => {
    const { home, mountPoint, source, config } = await btrfsFixture();
    await populate(source);
    const first = json(cli(['create', source, '--json', '--config', config]));
    await rm(path.join(source, 'dir1'), { recursive: true });
    await writeFile(path.join(source, 'added'), 'added');
    const second = json(cli(['create', source, '--parent', 'latest', '--json', '--config', config]));
    const listed = json(cli(['info', second.id, '--files', '--json', '--config', config])).files.length;
    const received = json(cli(['restore', second.id, path.join(mountPoint, 'received'), '--json', '--config', config]));
    const userSpace = json(
      cli(['restore', second.id, path.join(home, 'user-space'), '--json', '--config', config], {
        env: { ...process.env, RAST_BACKUP_BTRFS_RECEIVER: 'user-space' },
      }),
    );
    assert.is(userSpace.entries, listed, 'the user-space receiver counts every entry of the index');
    assert.is(received.entries, listed, `btrfs receive of ${first.id} and ${second.id}: every entry counted`);
  },
);

testNeeding(
  btrfs,
  available,
  needs,
  'a file with the btrfs.compression property restores off btrfs, whole or partly, without it',
  async () => {
    const { home, source, config } = await btrfsFixture();
    const content = Buffer.alloc(300_000, 'compressible ');
    await writeFile(path.join(source, 'compressed'), content);
    sh('btrfs', ['property', 'set', path.join(source, 'compressed'), 'compression', 'zstd']);
    await writeFile(path.join(source, 'plain'), 'plain');
    await setAttribute(path.join(source, 'plain'), 'user.note', 'kept');
    const created = json(cli(['create', source, '--json', '--config', config]));
    const files = json(cli(['info', created.id, '--files', '--json', '--config', config])).files;
    assert.ok(
      files.find((entry: { path: string }) => entry.path === 'compressed').xattrs['btrfs.compression'],
      'the index holds the property',
    );
    const tmpfs = path.join(home, 'tmpfs');
    await mkdir(tmpfs);
    sh('mount', ['-t', 'tmpfs', '-o', 'size=50m', 'tmpfs', tmpfs]);
    for (const include of [[], ['--include', '/compressed', '/plain']]) {
      const destination = path.join(tmpfs, include.length ? 'partial' : 'whole');
      const restored = json(cli(['restore', created.id, destination, ...include, '--json', '--config', config]));
      assert.equal(restored.skipped, [], `restore ${include.join(' ')}: nothing left out but by design`);
      assert.ok((await readFile(path.join(destination, 'compressed'))).equals(content));
      assert.equal(await listAttributes(path.join(destination, 'compressed')), []);
      assert.is((await getAttribute(path.join(destination, 'plain'), 'user.note'))?.toString(), 'kept', 'other xattrs are restored');
    }
  },
);

testNeeding(
  btrfs,
  available,
  needs,
  'two repositories of one subvolume keep their own parent snapshots: incrementals alternate between them',
  async () => {
    const { home, mountPoint, source, config } = await btrfsFixture();
    const other = path.join(home, 'other.toml');
    await writeFile(other, `[storage]\nlocal.path = ${JSON.stringify(path.join(home, 'other-repository'))}\n[backup]\npart_size_mib = 1\n`);
    const kept = () =>
      sh('btrfs', ['subvolume', 'list', '-a', mountPoint])
        .split('\n')
        .filter((line) => line.includes('.rast-backup/snapshots/'))
        .map((line) => line.slice(line.lastIndexOf('/') + 1))
        .sort();
    await writeFile(path.join(source, 'a'), 'a');
    const latest = new Map<string, string>();
    for (const round of [1, 2, 3]) {
      for (const repository of [config, other]) {
        await writeFile(path.join(source, `${round}-${path.basename(repository)}`), 'changed');
        const created = cli(['create', source, ...(round > 1 ? ['--parent', 'latest'] : []), '--json', '--config', repository]);
        assert.is(created.status, 0, `round ${round}, ${path.basename(repository)}: ${created.stderr}`);
        const backup = JSON.parse(created.stdout);
        if (round > 1) assert.is(backup.parent, latest.get(repository), "an incremental on this repository's latest");
        latest.set(repository, backup.id);
      }
    }
    assert.equal(kept(), [...latest.values()].sort(), 'one snapshot per repository: its latest');
    const restored = path.join(home, 'restored');
    assert.is(
      cli(['restore', latest.get(other)!, restored, '--config', other], {
        env: { ...process.env, RAST_BACKUP_BTRFS_RECEIVER: 'user-space' },
      }).status,
      0,
    );
    assert.equal((await readdir(restored)).sort(), (await readdir(source)).sort());
    // Deleting a repository's latest backup releases its snapshot, not the other repository's.
    const deleted = cli(['delete', latest.get(other)!, '--config', other]);
    assert.is(deleted.status, 0, deleted.stderr);
    assert.equal(kept(), [latest.get(config)]);
  },
);

testNeeding(
  btrfs,
  available,
  needs,
  'a parent snapshot in the layout of versions before repository ids is still used, then released',
  async () => {
    const { mountPoint, source, config } = await btrfsFixture();
    await writeFile(path.join(source, 'a'), 'a');
    const first = json(cli(['create', source, '--json', '--config', config]));
    const snapshots = path.join(mountPoint, '.rast-backup', 'snapshots');
    const [sourceUuid] = await readdir(snapshots);
    const [repositoryId] = await readdir(path.join(snapshots, sourceUuid!));
    // A read-only subvolume cannot be moved to another directory: writable for the move, read-only again (its UUID stays).
    const moved = path.join(snapshots, sourceUuid!, first.id);
    sh('btrfs', ['property', 'set', '-ts', path.join(snapshots, sourceUuid!, repositoryId!, first.id), 'ro', 'false']);
    await rename(path.join(snapshots, sourceUuid!, repositoryId!, first.id), moved);
    sh('btrfs', ['property', 'set', '-ts', moved, 'ro', 'true']);
    sh('rmdir', [path.join(snapshots, sourceUuid!, repositoryId!)]);
    await writeFile(path.join(source, 'b'), 'b');
    const second = json(cli(['create', source, '--parent', 'latest', '--json', '--config', config]));
    assert.is(second.parent, first.id);
    assert.equal((await readdir(path.join(snapshots, sourceUuid!))).sort(), [repositoryId], 'the old-layout parent is released');
    assert.equal(await readdir(path.join(snapshots, sourceUuid!, repositoryId!)), [second.id]);
  },
);

testNeeding(btrfs, available, needs, 'an incremental on a parent whose local snapshot is gone is refused with what to do', async () => {
  const { source, config } = await btrfsFixture();
  await writeFile(path.join(source, 'a'), 'a');
  const first = json(cli(['create', source, '--json', '--config', config]));
  json(cli(['create', source, '--json', '--config', config]));
  const refused = cli(['create', source, '--parent', first.id, '--config', config]);
  assert.is(refused.status, 1);
  assert.match(
    refused.stderr,
    new RegExp(`parent ${first.id} cannot be built on: its local snapshot no longer exists.*make a full backup`),
  );
});

testNeeding(btrfs, available, needs, 'a path below a subvolume root is snapshotted and backed up as a tar tree', async () => {
  const { source, config, home } = await btrfsFixture();
  await populate(source);
  const created = json(cli(['create', path.join(source, 'dir1'), '--json', '--config', config]));
  assert.is(created.format, 'tar');
  const destination = path.join(home, 'subtree');
  assert.is(cli(['restore', created.id, destination, '--config', config]).status, 0);
  // linked-too's other hard link lies outside the subtree: only the link group differs.
  const withoutGroups = (tree: Record<string, string>) =>
    Object.fromEntries(Object.entries(tree).map(([key, value]) => [key, value.replace(/ group=\S+/, '')]));
  assert.equal(withoutGroups(await fingerprint(destination)), withoutGroups(await fingerprint(path.join(source, 'dir1'))));
});

testNeeding(
  btrfs,
  available,
  needs,
  'a path below a subvolume root whose name is not UTF-8 is snapshotted and backed up by its bytes',
  async () => {
    const { source, config, home } = await btrfsFixture();
    const subtree = Buffer.concat([Buffer.from(`${source}/lat`), Buffer.from([0xe9])]);
    await mkdir(subtree);
    await writeFile(Buffer.concat([subtree, Buffer.from('/inside.txt')]), 'inside\n');
    // Node passes arguments as text: the bytes reach the binary through sh, whose printf makes \351 the byte 0xe9.
    const created = spawnSync(
      'sh',
      ['-c', 'exec "$0" create "$(printf "$1")" --json --config "$2"', BINARY, `${source}/lat\\351`, config],
      { encoding: 'utf8' },
    );
    const manifest = json({ status: created.status, stdout: created.stdout, stderr: created.stderr });
    assert.equal([manifest.format, manifest.source], ['tar', `${source}/lat\udce9`]);
    const destination = path.join(home, 'restored');
    assert.is(cli(['restore', manifest.id, destination, '--config', config]).status, 0);
    assert.is(await readFile(path.join(destination, 'inside.txt'), 'utf8'), 'inside\n');
  },
);

testNeeding(btrfs, available, needs, 'a second create of the same source is refused while one runs', async () => {
  const { source, config } = await btrfsFixture();
  const uuid = /UUID:\s+(\S+)/.exec(sh('btrfs', ['subvolume', 'show', source]))![1]!;
  await mkdir('/run/rast-backup/locks', { recursive: true });
  await writeFile(`/run/rast-backup/locks/${uuid}.lock`, String(process.pid));
  try {
    const refused = cli(['create', source, '--config', config]);
    assert.is(refused.status, 1);
    assert.match(refused.stderr, /already running/);
  } finally {
    await rm(`/run/rast-backup/locks/${uuid}.lock`, { force: true });
  }
  assert.is(cli(['create', source, '--config', config]).status, 0);
});

testNeeding(
  btrfs,
  available,
  needs,
  'clear errors: snapshot directory on another filesystem, btrfs receive forced onto ext4, not root; the user-space receiver restores onto ext4',
  async () => {
    const { source, config, home } = await btrfsFixture();
    const elsewhere = path.join(home, 'other-config.toml');
    await writeFile(
      elsewhere,
      `${await readFile(config, 'utf8')}[btrfs]\nsnapshot_dir = ${JSON.stringify(path.join(home, 'snapshots'))}\n`,
    );
    const crossDevice = cli(['create', source, '--config', elsewhere]);
    assert.is(crossDevice.status, 2, crossDevice.stderr);
    assert.match(crossDevice.stderr, /snapshot directory is on another filesystem/);
    assert.equal(json(cli(['list', '--json', '--config', elsewhere])), []);

    const created = json(cli(['create', source, '--json', '--config', config]));
    const onExt4 = path.join(home, 'not-btrfs');
    const ext4 = cli(['restore', created.id, onExt4, '--config', config]);
    assert.is(ext4.status, 0, ext4.stderr);
    assert.equal(await fingerprint(onExt4), await fingerprint(source), 'restored onto ext4 by the user-space receiver');
    const forcedReceive = cli(['restore', created.id, path.join(home, 'forced'), '--config', config], {
      env: { ...process.env, RAST_BACKUP_BTRFS_RECEIVER: 'btrfs-receive' },
    });
    assert.is(forcedReceive.status, 1);
    assert.match(
      forcedReceive.stderr,
      /RB009.*destination \S*forced is (not )?on btrfs.*btrfs receive needs root and a destination on btrfs/,
    );

    await chmod(home, 0o755);
    await chmod(config, 0o644);
    const asNobody = cli(['create', source, '--config', config], { uid: 65534, gid: 65534 });
    assert.is(asNobody.status, 1);
    assert.match(asNobody.stderr, /need root/);
    assert.not.match(asNobody.stderr, /^\s+at /m);
  },
);

testNeeding(
  btrfs,
  available,
  needs,
  'btrfs-progs missing, and a full repository: one-line errors, nothing listed, nothing left behind',
  async () => {
    const { source, config, home } = await btrfsFixture();
    await writeFile(path.join(source, 'big'), randomBytes(40_000_000));
    const bin = path.join(home, 'bin');
    await mkdir(bin);
    await symlink(process.execPath, path.join(bin, 'node'));
    const noBtrfs = cli(['create', source, '--config', config], { env: { ...process.env, PATH: bin } });
    assert.is(noBtrfs.status, 1, noBtrfs.stderr + noBtrfs.stdout);
    assert.match(noBtrfs.stderr, /btrfs is not installed: install the btrfs-progs package/);

    const small = path.join(home, 'small-repository');
    await mkdir(small);
    sh('mount', ['-t', 'tmpfs', '-o', 'size=12m', 'tmpfs', small]);
    try {
      const full = path.join(home, 'full.toml');
      await writeFile(full, `[storage]\nlocal.path = ${JSON.stringify(small)}\n[compression]\nalgorithm = "none"\n`);
      const result = cli(['create', source, '--config', full]);
      assert.is(result.status, 1, result.stderr + result.stdout);
      assert.match(result.stderr, /local sink local .*no space left on the device/);
      assert.equal(json(cli(['list', '--all', '--json', '--config', full])), []);
      assert.equal(await readdir(path.join(source)), ['big'], 'the source is unchanged');
      assert.equal(await readdir(path.join(small, 'data')).catch(() => []), [], 'no parts are left behind');
    } finally {
      sh('umount', [small]);
    }
  },
);

testNeeding(
  btrfs,
  available,
  needs,
  'as another user, owners are one summary warning; what else cannot be restored is listed and fails the restore, unless --ignore-unrestorable',
  async () => {
    const { source, config, home } = await btrfsFixture();
    await populate(source);
    const created = json(cli(['create', source, '--json', '--config', config]));
    await chmod(home, 0o755);
    await chmod(config, 0o644);
    sh('chmod', ['-R', 'a+rX', path.join(home, 'repository')]);
    const state = path.join(home, 'state');
    await mkdir(state);
    await chown(state, 65534, 65534);
    const asNobody = async (name: string, extra: string[]) => {
      const destination = path.join(home, name);
      await mkdir(destination);
      await chown(destination, 65534, 65534);
      return {
        destination,
        result: cli(['restore', created.id, destination, '--config', config, ...extra], {
          uid: 65534,
          gid: 65534,
          env: { ...process.env, RAST_BACKUP_STATE_DIR: state },
        }),
      };
    };
    const strict = await asNobody('strict', []);
    assert.is(strict.result.status, 1, strict.result.stderr);
    assert.match(strict.result.stderr, /warning: owners not restored: \d+ entries belong to the restoring user/);
    assert.not.match(strict.result.stderr, /not restored: owners/);
    assert.match(strict.result.stderr, /warning: not restored: file capabilities .*"capable"/);
    assert.match(strict.result.stderr, /error RB021: restore of backup .* is incomplete: .*--ignore-unrestorable/);
    assert.is(strict.result.stdout, '');
    const accepted = await asNobody('accepted', ['--ignore-unrestorable', '--json']);
    assert.is(accepted.result.status, 0, accepted.result.stderr);
    assert.is(accepted.result.stderr.match(/warning: owners not restored/g)?.length, 1, accepted.result.stderr);
    const report = JSON.parse(accepted.result.stdout);
    assert.ok(report.ownersNotSet > 0 && report.skipped.length >= 1);
    assert.is(await readFile(path.join(accepted.destination, 'dir1', 'dir2', 'dir3', 'deep.txt'), 'utf8'), 'deep\n');
    assert.is((await lstat(path.join(accepted.destination, 'setuid'))).mode & 0o7777, 0o4755);
    assert.is((await lstat(path.join(accepted.destination, 'random.bin'))).uid, 65534);
  },
);

btrfs.run();
