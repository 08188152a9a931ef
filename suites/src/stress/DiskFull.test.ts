import { readFile, statfs } from 'node:fs/promises';
import path from 'node:path';
import { temporaryDirectory, testNeeding } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startSwift, swiftAvailable, type SwiftServer } from '@rast-backup/plugin-s3/testing/SwiftServer';
import { canMountExt4, loopFilesystem, writeConfig } from '../support.js';
import { assertOnlyListedData } from './Crashes.js';
import { newBucket, populate, stressConfig } from './Fixtures.js';
import { Host } from './Host.js';
import { reportDurations } from './Seed.js';

const full = suite('disk full: the repository or the restore destination runs out of space');
const needs = 'root and e2fsprogs (a loop-mounted ext4)';
reportDurations(full);
let swift: SwiftServer | undefined;

full.before(async () => {
  if (swiftAvailable && canMountExt4) swift = await startSwift();
});

full.after(async () => {
  await swift?.stop();
});

async function freeBytes(directory: string): Promise<number> {
  const stats = await statfs(directory);
  return stats.bavail * stats.bsize;
}

function assertOneLine(stderr: string, pattern: RegExp) {
  assert.is(stderr.trimEnd().split('\n').length, 1, `one line on stderr, got: ${stderr}`);
  assert.match(stderr.trimEnd(), pattern, `stderr: ${stderr}`);
}

// ---

testNeeding(
  full,
  canMountExt4,
  needs,
  "a backup larger than the local repository's filesystem: one clear line, exit 1, earlier backups intact, nothing left behind",
  async () => {
    const home = await temporaryDirectory('rast-stress-');
    const { mountPoint } = await loopFilesystem('ext4', '32M', 'rast-stress-ext4-');
    const repository = path.join(mountPoint, 'repository');
    const host = await Host.make(home, await stressConfig(home, { kind: 'local', path: repository }));
    const small = path.join(home, 'small');
    const large = path.join(home, 'large');
    await populate(small, 2);
    await populate(large, 48);
    const kept = (await host.json(['create', small])).id as string;
    const freeBefore = await freeBytes(mountPoint);

    const result = await host.run(['create', large]);
    assert.is(result.status, 1, result.stderr);
    assert.is(result.stdout, '');
    assertOneLine(
      result.stderr,
      new RegExp(
        `^rast-backup: error RB017: local sink local \\(${repository}\\): cannot write data/\\S+: ENOSPC: no space left on device, .* \\(no space left on the device\\)$`,
      ),
    );

    assert.equal(await host.listed(), [kept]);
    await host.assertAllIntact('after the disk filled');
    assert.equal(await host.incomplete(), [], 'the failed create removed what it wrote');
    await assertOnlyListedData(host, repository, 'after the disk filled');
    assert.ok((await freeBytes(mountPoint)) >= freeBefore - 64 * 1024, 'the space is free again');
    const next = await host.run(['create', small]);
    assert.is(next.status, 0, `a create that fits works again: ${next.stderr}`);
  },
);

testNeeding(full, canMountExt4, needs, 'a restore onto a filesystem that fills: one clear line, exit 1', async () => {
  const home = await temporaryDirectory('rast-stress-');
  const host = await Host.make(home, await stressConfig(home, { kind: 'local', path: path.join(home, 'repository') }));
  const source = path.join(home, 'source');
  await populate(source, 24);
  const id = (await host.json(['create', source])).id as string;
  const { mountPoint } = await loopFilesystem('ext4', '16M', 'rast-stress-ext4-');
  const destination = path.join(mountPoint, 'restored');
  const result = await host.run(['restore', id, destination]);
  assert.is(result.status, 1, result.stderr);
  assertOneLine(
    result.stderr,
    new RegExp(
      `^rast-backup: error RB021: restore of ${id} into ${destination} stopped: ENOSPC: no space left on device, write \\(no space left on the device\\); what was restored so far is left there$`,
    ),
  );
});

testNeeding(
  full,
  canMountExt4 && swiftAvailable,
  `${needs} and python3-swift`,
  'local and S3, the local filesystem fills: committed in S3 only, a warning and one error line naming the local sink, no parts left in local',
  async () => {
    const home = await temporaryDirectory('rast-stress-');
    const { mountPoint } = await loopFilesystem('ext4', '32M', 'rast-stress-ext4-');
    const repository = path.join(mountPoint, 'repository');
    const s3 = await stressConfig(home, { kind: 's3', swift: swift!, bucket: await newBucket(swift!), prefix: 'full' });
    const config = await writeConfig(
      home,
      `${await readFile(s3, 'utf8')}\n[storage]\nlocal.path = ${JSON.stringify(repository)}\n`,
      'both.toml',
    );
    const host = await Host.make(home, config);
    const large = path.join(home, 'large');
    await populate(large, 48);
    const result = await host.run(['create', large]);
    assert.is(result.status, 1, result.stderr);
    const lines = result.stderr.trimEnd().split('\n');
    assert.match(
      lines[0]!,
      /^rast-backup: warning: local sink local .*no space left on the device\); backup \S+ goes on in s3 only/,
      result.stderr,
    );
    assertOneLine(
      lines.slice(1).join('\n'),
      /^rast-backup: error RB017: backup \S+ is committed in s3 only: local sink local .*\(no space left on the device\)$/,
    );
    const listed = await host.json<Array<{ id: string; sinks: string[] }>>(['list']);
    assert.equal(
      listed.map((entry) => entry.sinks),
      [['s3']],
    );
    await host.assertAllIntact('committed in s3 only');
    assert.equal(await host.incomplete(), [], 'the parts stored in local before it filled were removed');
  },
);

full.run();
