import type { ChildProcess } from 'node:child_process';
import { mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { temporaryDirectory, testNeeding, waitFor } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { canLoopMount, sh, type Result } from '../support.js';
import { assertOneLineError } from '../hostile/expectations.js';
import { btrfsSubvolumes, keptSnapshots, populate, SLOW, stressConfig, toolMounts } from './Fixtures.js';
import { finished, Host } from './Host.js';

const interrupts = suite('interrupts: SIGINT, SIGTERM and Ctrl-Z during create and restore');

/** Files (not directories) below `directory`, relative to it; none when it does not exist. */
async function files(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => !entry.isDirectory()).map((entry) => path.relative(directory, path.join(entry.parentPath, entry.name)));
}

/** Bytes in the files below `directory`. */
async function bytes(directory: string): Promise<number> {
  let total = 0;
  for (const file of await files(directory)) total += (await stat(path.join(directory, file)).catch(() => ({ size: 0 }))).size;
  return total;
}

/**
 * Starts the CLI, waits until `ready` holds while it still runs, sends `signal` once (to its whole process group
 * with `group`, as a Ctrl-C at a terminal does: its children get it too), and collects its result.
 */
async function interruptWhen(
  host: Host,
  args: string[],
  what: string,
  ready: () => Promise<boolean>,
  signal: NodeJS.Signals,
  group = false,
): Promise<Result> {
  const child: ChildProcess = host.start(args, group);
  const done = finished(child);
  let ended = false;
  void done.then(() => (ended = true));
  await waitFor(
    what,
    async () => {
      if (ended) throw new Error(`${args[0]} ended before ${what}: ${(await done).stderr}`);
      return ready();
    },
    120_000,
  );
  if (group) process.kill(-child.pid!, signal);
  else child.kill(signal);
  return done;
}

async function assertInterrupted(result: Result, status: number, label: string): Promise<void> {
  assertOneLineError(result, status, /RB025: /, label);
}

/** A local repository, a 64 MiB directory source, and a host whose creates are slow (to act while they run). */
async function directorySetup() {
  const home = await temporaryDirectory('rast-interrupts-');
  const repository = path.join(home, 'repository');
  const source = path.join(home, 'source');
  await populate(source, 64);
  const host = await Host.make(home, await stressConfig(home, { kind: 'local', path: repository }));
  const slow = new Host(await stressConfig(home, { kind: 'local', path: repository }, SLOW, 'slow.toml'), host.stateDirectory);
  return { home, repository, source, host, slow };
}

interrupts('create of a directory, SIGINT while parts are written: exit 130, one line, no object left', async () => {
  const { repository, source, host, slow } = await directorySetup();
  const create = await interruptWhen(
    slow,
    ['create', source],
    'a part to be stored',
    async () => (await files(path.join(repository, 'data'))).some((file) => file.endsWith('.part')),
    'SIGINT',
  );
  await assertInterrupted(create, 130, 'create');
  assert.equal(await files(path.join(repository, 'data')), [], 'no object of the interrupted create is left');
  assert.equal(await host.incomplete(), []);
  assert.equal(await host.listed(), []);
});

interrupts(
  'restore, SIGINT or SIGTERM while files are written: the destination it created is removed, an empty one emptied, and the restore runs again',
  async () => {
    const { home, source, host } = await directorySetup();
    const { id } = await host.json<{ id: string }>(['create', source]);
    const destination = path.join(home, 'restored');
    const restore = await interruptWhen(
      host,
      ['restore', id, destination],
      'files to be restored',
      async () => (await bytes(destination)) > 0,
      'SIGINT',
    );
    await assertInterrupted(restore, 130, 'restore into a new destination');
    assert.not.ok(await stat(destination).catch(() => undefined), 'the destination the restore created is removed');

    const empty = path.join(home, 'empty');
    await mkdir(empty);
    const again = await interruptWhen(
      host,
      ['restore', id, empty],
      'files to be restored',
      async () => (await bytes(empty)) > 0,
      'SIGTERM',
    );
    await assertInterrupted(again, 143, 'restore into an empty directory');
    assert.equal(await readdir(empty), [], 'the destination is empty again');

    const finish = await host.run(['restore', id, empty]);
    assert.is(finish.status, 0, finish.stderr);
    assert.equal((await files(empty)).sort(), (await files(source)).sort());
  },
);

testNeeding(
  interrupts,
  canLoopMount,
  'root and btrfs-progs (a loop-mounted btrfs)',
  'btrfs: create, SIGTERM while parts are written: exit 143, one line, no object, snapshot or mount left; restore with btrfs receive, Ctrl-C (SIGINT to the process group): exit 130, no staging directory or subvolume left',
  async () => {
    const home = await temporaryDirectory('rast-interrupts-btrfs-');
    const { mountPoint, subvolumes } = await btrfsSubvolumes('1G', ['data']);
    const source = subvolumes[0]!;
    await populate(source, 8);
    const repository = path.join(home, 'repository');
    const host = await Host.make(home, await stressConfig(home, { kind: 'local', path: repository }));
    const slow = new Host(await stressConfig(home, { kind: 'local', path: repository }, SLOW, 'slow.toml'), host.stateDirectory);
    const { id } = await host.json<{ id: string }>(['create', source]);
    const snapshots = keptSnapshots(mountPoint);
    const objects = await files(path.join(repository, 'data'));
    await populate(path.join(source, 'more'), 64);

    const create = await interruptWhen(
      slow,
      ['create', source, '--parent', 'latest'],
      'a part of the incremental to be stored',
      async () => (await files(path.join(repository, 'data'))).some((file) => !objects.includes(file) && file.endsWith('.part')),
      'SIGTERM',
    );
    await assertInterrupted(create, 143, 'create');
    assert.equal(await files(path.join(repository, 'data')), objects, 'no object of the interrupted create is left');
    assert.equal(keptSnapshots(mountPoint), snapshots, "no snapshot beyond the committed backup's");
    assert.equal(await toolMounts(mountPoint), [], 'no mount is left under /run/rast-backup');
    assert.equal(await host.listed(), [id]);
    assert.equal(await host.incomplete(), []);

    // Restored with btrfs receive into a staging directory beside the destination; Ctrl-C reaches btrfs receive too.
    const { id: latest } = await host.json<{ id: string }>(['create', source, '--parent', 'latest']);
    const destination = path.join(mountPoint, 'restored');
    const staging = async () => (await readdir(mountPoint)).filter((name) => name.startsWith('.rast-restore-'));
    const before = sh('btrfs', ['subvolume', 'list', mountPoint]);
    const restore = await interruptWhen(
      host,
      ['restore', latest, destination],
      'btrfs receive to write',
      async () => (await Promise.all((await staging()).map((name) => bytes(path.join(mountPoint, name))))).some((size) => size > 0),
      'SIGINT',
      true,
    );
    await assertInterrupted(restore, 130, 'restore onto btrfs');
    assert.equal(await staging(), [], 'no staging directory is left');
    assert.not.ok(await stat(destination).catch(() => undefined), 'the destination the restore created is removed');
    assert.is(sh('btrfs', ['subvolume', 'list', mountPoint]), before, 'no received subvolume is left');
    const finish = await host.run(['restore', latest, destination]);
    assert.is(finish.status, 0, finish.stderr);
  },
);

testNeeding(
  interrupts,
  canLoopMount,
  'root and btrfs-progs (a loop-mounted btrfs)',
  'btrfs: create stopped and continued while btrfs send writes (as Ctrl-Z, then fg: SIGSTOP and SIGCONT to the process group): the backup completes, whole',
  async () => {
    const home = await temporaryDirectory('rast-interrupts-stop-');
    const { subvolumes } = await btrfsSubvolumes('1G', ['data']);
    const source = subvolumes[0]!;
    await populate(source, 64);
    const repository = path.join(home, 'repository');
    const host = await Host.make(home, await stressConfig(home, { kind: 'local', path: repository }));
    const slow = new Host(await stressConfig(home, { kind: 'local', path: repository }, SLOW, 'slow.toml'), host.stateDirectory);
    const child = slow.start(['create', source], true);
    const done = finished(child);
    let ended = false;
    void done.then(() => (ended = true));
    await waitFor(
      'a part to be stored',
      async () => {
        if (ended) throw new Error(`create ended before a part was stored: ${(await done).stderr}`);
        return (await files(path.join(repository, 'data'))).some((file) => file.endsWith('.part'));
      },
      120_000,
    );
    // btrfs send, stopped while it waits on a full pipe, would start its stream again once continued. (SIGSTOP, as
    // the terminal's SIGTSTP is discarded for a process group without a terminal.)
    process.kill(-child.pid!, 'SIGSTOP');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    process.kill(-child.pid!, 'SIGCONT');
    const create = await done;
    assert.is(create.status, 0, create.stderr);
    const verify = await host.run(['verify', 'latest', '--level', 'full']);
    assert.is(verify.status, 0, verify.stderr);
  },
);

interrupts.run();
