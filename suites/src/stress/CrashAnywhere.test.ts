import path from 'node:path';
import { temporaryDirectory, testNeeding } from '@rast-backup/core/testing';
import { startSwift, swiftAvailable, type SwiftServer } from '@rast-backup/plugin-s3/testing/SwiftServer';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { canLoopMount } from '../support.js';
import { assertOnlyListedData, assertPruneCollectsAgedLeftovers, CRASH_RETENTION, crashCreates, crashDeletes } from './Crashes.js';
import { btrfsSubvolumes, keptSnapshots, newBucket, populate, stressConfig, toolMounts } from './Fixtures.js';
import { Host } from './Host.js';
import { reportDurations, stressRandom, trials } from './Seed.js';

const crash = suite('crash anywhere: create, delete and prune killed with SIGKILL at random moments');
const random = stressRandom('crash anywhere');
const TRIALS = trials(2);
let swift: SwiftServer | undefined;

reportDurations(crash);

crash.before(async () => {
  if (swiftAvailable) swift = await startSwift();
});

crash.after(async () => {
  await swift?.stop();
});

async function localHost(megabytes: number) {
  const home = await temporaryDirectory('rast-stress-');
  const repository = path.join(home, 'repository');
  const source = path.join(home, 'source');
  await populate(source, megabytes);
  const host = await Host.make(home, await stressConfig(home, { kind: 'local', path: repository }, CRASH_RETENTION));
  return { home, repository, source, host };
}

async function s3Host(megabytes: number) {
  const home = await temporaryDirectory('rast-stress-');
  const source = path.join(home, 'source');
  await populate(source, megabytes);
  const storage = { kind: 's3' as const, swift: swift!, bucket: await newBucket(swift!), prefix: 'crash' };
  return { home, source, host: await Host.make(home, await stressConfig(home, storage, CRASH_RETENTION)) };
}

// ---

crash('create killed anywhere, directory source, local repository: consistent, and prune collects the leftovers once old', async () => {
  const { repository, source, host } = await localHost(6);
  await crashCreates(host, source, random, TRIALS, 'local');
  await assertPruneCollectsAgedLeftovers(host, repository, 'local');
});

testNeeding(
  crash,
  swiftAvailable,
  'python3-swift (OpenStack Swift with s3api)',
  'create killed anywhere, directory source, S3 repository: consistent, and delete <id> collects the leftovers',
  async () => {
    const { source, host } = await s3Host(4);
    await crashCreates(host, source, random, TRIALS, 's3');
    for (const leftover of await host.incomplete()) {
      const removed = await host.run(['delete', leftover.id]);
      assert.is(removed.status, 0, removed.stderr);
    }
    assert.equal(await host.incomplete(), []);
  },
);

testNeeding(
  crash,
  canLoopMount,
  'root and btrfs-progs (a loop-mounted btrfs)',
  'create killed anywhere, btrfs source: consistent, and only the latest snapshot is kept',
  async () => {
    const home = await temporaryDirectory('rast-stress-');
    const { mountPoint, subvolumes } = await btrfsSubvolumes('400M', ['data']);
    await populate(subvolumes[0]!, 8);
    const repository = path.join(home, 'repository');
    const host = await Host.make(home, await stressConfig(home, { kind: 'local', path: repository }, CRASH_RETENTION));
    await crashCreates(host, subvolumes[0]!, random, TRIALS, 'btrfs');
    const latest = (await host.listed()).at(-1);
    assert.equal(keptSnapshots(mountPoint), [latest], 'the snapshots of killed creates are gone once a create commits');
    assert.equal(await toolMounts(mountPoint), [], 'the top-level mounts of killed creates are gone once a create ran');
    await assertPruneCollectsAgedLeftovers(host, repository, 'btrfs');
  },
);

crash('delete and prune killed anywhere, local repository: nothing half-deleted is listed; running them again finishes', async () => {
  const { repository, source, host } = await localHost(2);
  await crashDeletes(host, source, random, TRIALS, 'local');
  await assertOnlyListedData(host, repository, 'local');
});

testNeeding(
  crash,
  swiftAvailable,
  'python3-swift (OpenStack Swift with s3api)',
  'delete and prune killed anywhere, S3 repository: nothing half-deleted is listed; running them again finishes',
  async () => {
    const { source, host } = await s3Host(2);
    await crashDeletes(host, source, random, TRIALS, 's3');
  },
);

crash.run();
