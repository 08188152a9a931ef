import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { isRoot, temporaryDirectory, testNeeding } from '@rast-backup/core/testing';
import { startSwift, swiftAvailable, type SwiftServer } from '@rast-backup/plugin-s3/testing/SwiftServer';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { canLoopMount } from '../support.js';
import { btrfsSubvolumes, keptSnapshots, newBucket, populate, SLOW, stressConfig, toolMounts, type Storage } from './Fixtures.js';
import { finished, Host, waitFor } from './Host.js';
import { reportDurations } from './Seed.js';

const concurrent = suite('concurrency: several commands on one repository at once');
let swift: SwiftServer | undefined;
const RETENTION = '\n[retention]\nlast = 1\nleftover_age_hours = 1\n';

reportDurations(concurrent);

concurrent.before(async () => {
  if (swiftAvailable) swift = await startSwift();
});

concurrent.after(async () => {
  await swift?.stop();
});

async function localHost(home: string) {
  const repository = path.join(home, 'repository');
  const host = await Host.make(home, await stressConfig(home, { kind: 'local', path: repository }, RETENTION));
  const slow = new Host(await stressConfig(home, { kind: 'local', path: repository }, RETENTION + SLOW, 'slow.toml'), host.stateDirectory);
  return { repository, host, slow };
}

async function sources(home: string, megabytes: number[]): Promise<string[]> {
  return Promise.all(
    megabytes.map(async (size, index) => {
      const source = path.join(home, `source-${index}`);
      await populate(source, size);
      return source;
    }),
  );
}

/** Runs both commands at once and returns their results. */
async function together(first: [Host, string[]], second: [Host, string[]]) {
  return Promise.all([finished(first[0].start(first[1])), finished(second[0].start(second[1]))]);
}

/** Data directories of a local repository (committed or not). */
async function dataIds(repository: string): Promise<string[]> {
  return readdir(path.join(repository, 'data')).catch(() => []);
}

// ---

concurrent('two creates of different directory sources into one local repository: both commit and verify', async () => {
  const home = await temporaryDirectory('rast-stress-');
  const { host } = await localHost(home);
  const [one, two] = await sources(home, [8, 8]);
  const results = await together([host, ['create', one!, '--json']], [host, ['create', two!, '--json']]);
  for (const result of results) assert.is(result.status, 0, result.stderr);
  assert.equal((await host.listed()).sort(), results.map((result) => JSON.parse(result.stdout).id).sort());
  await host.assertAllIntact('two creates at once');
});

concurrent('two creates of the same directory source at once: both commit (the directory source takes no lock)', async () => {
  const home = await temporaryDirectory('rast-stress-');
  const { host } = await localHost(home);
  const [source] = await sources(home, [6]);
  const results = await together([host, ['create', source!]], [host, ['create', source!]]);
  for (const result of results) assert.is(result.status, 0, result.stderr);
  assert.is((await host.listed()).length, 2);
  await host.assertAllIntact('the same directory twice at once');
});

testNeeding(
  concurrent,
  canLoopMount,
  'root and btrfs-progs (a loop-mounted btrfs)',
  'creates of two subvolumes of one btrfs filesystem at once, full then incremental: all commit and verify',
  async () => {
    const home = await temporaryDirectory('rast-stress-');
    const { host } = await localHost(home);
    const { mountPoint, subvolumes } = await btrfsSubvolumes('400M', ['one', 'two']);
    for (const subvolume of subvolumes) await populate(subvolume, 20);
    for (let round = 1; round <= 3; round++) {
      const results = await together(
        [host, ['create', subvolumes[0]!, '--parent', 'latest']],
        [host, ['create', subvolumes[1]!, '--parent', 'latest']],
      );
      for (const result of results) assert.is(result.status, 0, `round ${round}: ${result.stderr}`);
    }
    assert.is((await host.listed()).length, 6);
    await host.assertAllIntact('two subvolumes at once');
    assert.is(keptSnapshots(mountPoint).length, 2, 'one snapshot per source: the latest');
    assert.equal(await toolMounts(mountPoint), [], 'every process unmounted its top-level mount');
  },
);

testNeeding(
  concurrent,
  canLoopMount,
  'root and btrfs-progs (a loop-mounted btrfs)',
  'two creates of the same btrfs source: the second fails at once with one clear line, the first commits',
  async () => {
    const home = await temporaryDirectory('rast-stress-');
    const { host, slow } = await localHost(home);
    const { mountPoint, subvolumes } = await btrfsSubvolumes('400M', ['data']);
    // Slow enough (about 5 s) that the second create, Node start-up included, surely comes while it runs.
    await populate(subvolumes[0]!, 20);
    const first = finished(slow.start(['create', subvolumes[0]!]));
    await waitFor('the first create to take its snapshot', () => keptSnapshots(mountPoint).length > 0);
    const second = await host.run(['create', subvolumes[0]!]);
    assert.is(second.status, 1, second.stderr);
    assert.match(second.stderr, /^rast-backup: error RB024: a backup of .*\/data is already running \(pid \d+\); wait for it to finish\n$/);
    const done = await first;
    assert.is(done.status, 0, `${done.stderr} (the second create finished after it: ${second.stderr})`);
    assert.is((await host.listed()).length, 1);
    await host.assertAllIntact('after the refused second create');
    assert.equal(keptSnapshots(mountPoint).length, 1);
  },
);

concurrent('prune while a create runs (local): prune never touches the running create, which commits and verifies', async () => {
  const home = await temporaryDirectory('rast-stress-');
  const { host, slow, repository } = await localHost(home);
  const [small, big] = await sources(home, [1, 10]);
  for (let count = 0; count < 3; count++) await host.json(['create', small!]);
  const older = await host.listed();
  const running = finished(slow.start(['create', big!, '--json']));
  await waitFor('the create to store parts', async () => (await dataIds(repository)).some((id) => !older.includes(id)));
  const pruned = await host.json(['prune']);
  const created = await running;
  assert.is(created.status, 0, created.stderr);
  const id = JSON.parse(created.stdout).id as string;
  const leftover = (pruned.leftovers as Array<{ id: string; remove: boolean; reason: string }>).find((entry) => entry.id === id);
  if (leftover) {
    assert.not.ok(leftover.remove, 'prune planned to remove the running create');
    assert.match(leftover.reason, /a create may still be writing it/);
  }
  assert.equal(await host.listed(), [older.at(-1), id], 'prune removed the older backups of the small source, and nothing of the big one');
  await host.assertAllIntact('prune during create');
});

concurrent('two prunes at once: both succeed, and only the newest backup is left, intact', async () => {
  const home = await temporaryDirectory('rast-stress-');
  const { host } = await localHost(home);
  const [source] = await sources(home, [1]);
  for (let count = 0; count < 5; count++) await host.json(['create', source!]);
  const newest = (await host.listed()).at(-1);
  const results = await together([host, ['prune']], [host, ['prune']]);
  for (const result of results) assert.is(result.status, 0, result.stderr);
  assert.equal(await host.listed(), [newest]);
  assert.equal(await host.incomplete(), []);
  await host.assertAllIntact('two prunes at once');
});

concurrent('the parent deleted while its incremental is being made: the incremental fails clearly and leaves nothing', async () => {
  const home = await temporaryDirectory('rast-stress-');
  const { host, slow, repository } = await localHost(home);
  const [source] = await sources(home, [1]);
  const parent = (await host.json(['create', source!])).id as string;
  await populate(source!, 10);
  const running = finished(slow.start(['create', source!, '--parent', parent]));
  await waitFor('the incremental to store parts', async () => (await dataIds(repository)).length > 1);
  const deleted = await host.run(['delete', parent]);
  assert.is(deleted.status, 0, deleted.stderr);
  const created = await running;
  assert.is(created.status, 1, `the incremental committed on a deleted parent: ${created.stdout}`);
  assert.match(
    created.stderr,
    new RegExp(
      `^rast-backup: error RB022: parent ${parent} was deleted while backup \\S+ was being made, so \\S+ was not committed: run create again\\n$`,
    ),
  );
  assert.equal(await host.listed(), []);
  assert.equal(await host.incomplete(), [], 'its parts were removed');
});

testNeeding(
  concurrent,
  swiftAvailable && isRoot,
  'python3-swift and root (unshare --uts for host names)',
  'two hosts, one bucket, different prefixes, at once: each sees only its own backups',
  async () => {
    const home = await temporaryDirectory('rast-stress-');
    const bucket = await newBucket(swift!);
    const [one, two] = await sources(home, [6, 6]);
    const storage = (prefix: string): Storage => ({ kind: 's3', swift: swift!, bucket, prefix });
    const alpha = await Host.make(home, await stressConfig(home, storage('alpha'), RETENTION, 'alpha.toml'), 'host-alpha');
    const beta = await Host.make(home, await stressConfig(home, storage('beta'), RETENTION, 'beta.toml'), 'host-beta');
    const results = await together([alpha, ['create', one!, '--json']], [beta, ['create', two!, '--json']]);
    for (const result of results) assert.is(result.status, 0, result.stderr);
    const [madeByAlpha, madeByBeta] = results.map((result) => JSON.parse(result.stdout).id as string);
    assert.equal(await alpha.listed(), [madeByAlpha]);
    assert.equal(await beta.listed(), [madeByBeta]);
    assert.is((await alpha.json(['info', madeByAlpha!])).manifest.host, 'host-alpha');
    await alpha.assertAllIntact('alpha');
    await beta.assertAllIntact('beta');
  },
);

testNeeding(
  concurrent,
  swiftAvailable && isRoot,
  'python3-swift and root (unshare --uts for host names)',
  "two hosts, one bucket, the same prefix: creates at once both commit; a prune by one never touches the other's running create or backups",
  async () => {
    const home = await temporaryDirectory('rast-stress-');
    const bucket = await newBucket(swift!);
    const [one, two, big] = await sources(home, [4, 4, 12]);
    const storage = (_name: string): Storage => ({ kind: 's3', swift: swift!, bucket, prefix: 'shared' });
    const alpha = await Host.make(home, await stressConfig(home, storage('alpha'), RETENTION, 'alpha.toml'), 'host-alpha');
    const beta = await Host.make(home, await stressConfig(home, storage('beta'), RETENTION, 'beta.toml'), 'host-beta');
    for (let round = 0; round < 2; round++) {
      const results = await together([alpha, ['create', one!]], [beta, ['create', two!]]);
      for (const result of results) assert.is(result.status, 0, result.stderr);
    }
    const both = await alpha.listed();
    assert.is(both.length, 4);
    assert.equal(await beta.listed(), both, 'both hosts list all four');

    const slowBeta = new Host(
      await stressConfig(home, storage('beta'), RETENTION + SLOW, 'beta-slow.toml'),
      beta.stateDirectory,
      'host-beta',
    );
    const running = finished(slowBeta.start(['create', big!, '--json']));
    await waitFor("beta's create to store parts", async () => (await alpha.incomplete()).length > 0, 60_000);
    const pruned = await alpha.json(['prune']);
    assert.ok(
      (pruned.leftovers as Array<{ remove: boolean }>).every((leftover) => !leftover.remove),
      "alpha's prune keeps beta's running create",
    );
    const created = await running;
    assert.is(created.status, 0, created.stderr);
    const after = await beta.listed();
    const hosts = await Promise.all(after.map(async (id) => (await beta.json(['info', id])).manifest.host as string));
    // Retention applies to every host's groups (host and source): last = 1 keeps one backup of alpha's source and
    // one of beta's; beta's backup of the big source was committed after the prune.
    assert.equal(hosts.sort(), ['host-alpha', 'host-beta', 'host-beta']);
    await alpha.assertAllIntact('shared prefix, after prune');
    assert.equal(await beta.incomplete(), []);
  },
);

concurrent.run();
