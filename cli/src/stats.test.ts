import { readdir, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import {
  s3Client,
  startSwift,
  SWIFT_IDLE_TIMEOUT_SECONDS,
  swiftAvailable,
  type SwiftServer,
} from '@rast-backup/plugin-s3/testing/SwiftServer';
import { testNeeding } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { btrfsAvailable, btrfsNeeds, CliFixture } from './testing/CliFixture.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

let swift: SwiftServer | undefined;

async function bucket(server: SwiftServer): Promise<string> {
  const client = s3Client(server);
  await client.send(new CreateBucketCommand({ Bucket: 'stats' }));
  client.destroy();
  return 'stats';
}

const sum = (backups: any[], key: 'size' | 'storedSize') => backups.reduce((total, backup) => total + backup[key], 0);

// ---

const stats = suite('stats');

stats.before(async () => {
  if (swiftAvailable && btrfsAvailable) swift = await startSwift();
});
stats.after(async () => {
  await swift?.stop();
});

testNeeding(
  stats,
  swiftAvailable && btrfsAvailable,
  `${btrfsNeeds} and python3-swift (OpenStack Swift with s3api)`,
  'per sink (local and S3) and per source (tar and btrfs-send), in --json and text, from the manifests alone',
  async () => {
    const server = swift!;
    const s3 = [
      '[s3]',
      `endpoint = ${JSON.stringify(server.endpoint)}`,
      `access_key_id = ${JSON.stringify(server.accessKeyId)}`,
      `secret_access_key = ${JSON.stringify(server.secretAccessKey)}`,
      `bucket = ${JSON.stringify(await bucket(server))}`,
      'region = "us-east-1"',
      `idle_timeout_seconds = ${SWIFT_IDLE_TIMEOUT_SECONDS}`,
      '',
    ].join('\n');
    const fixture = await CliFixture.create(s3);
    const localOnly = await fixture.otherConfig('local-only');
    const directory = await fixture.directory('alpha', { file: 'alpha\n', other: 'x'.repeat(100_000) });
    const subvolume = await fixture.subvolume();

    const empty = fixture.json(['stats']);
    assert.equal(
      empty.sinks.map((sink: any) => [sink.sink, sink.backups, sink.oldest, sink.newest]),
      [
        ['local', 0, null, null],
        ['s3', 0, null, null],
      ],
    );
    assert.equal(empty.sources, []);

    // Two backups of the directory in both sinks; a chain of two of the subvolume in the local sink only.
    const full = fixture.json(['create', directory]);
    await writeFile(path.join(directory, 'file'), 'alpha, changed\n');
    const incremental = fixture.json(['create', directory, '--parent', 'latest']);
    const btrfsFull = fixture.json(['create', subvolume], {}, localOnly);
    await writeFile(path.join(subvolume, 'new'), 'new file\n');
    const btrfsIncremental = fixture.json(['create', subvolume, '--parent', 'latest'], {}, localOnly);
    assert.equal(
      [full.format, incremental.parent, btrfsFull.format, btrfsIncremental.parent],
      ['tar', full.id, 'btrfs-send', btrfsFull.id],
    );
    const tar = [full, incremental];
    const btrfs = [btrfsFull, btrfsIncremental];
    const all = [...tar, ...btrfs];
    const moment = (backup: any) => ({ id: backup.id, created: backup.created });

    const report = fixture.json(['stats']);
    assert.equal(report.sinks, [
      {
        sink: 'local',
        location: fixture.repository,
        backups: 4,
        size: sum(all, 'size'),
        storedSize: sum(all, 'storedSize'),
        chains: 2,
        longestChain: 2,
        brokenChains: 0,
        oldest: moment(full),
        newest: moment(btrfsIncremental),
        damaged: 0,
        unreadable: null,
      },
      {
        sink: 's3',
        location: report.sinks[1].location,
        backups: 2,
        size: sum(tar, 'size'),
        storedSize: sum(tar, 'storedSize'),
        chains: 1,
        longestChain: 2,
        brokenChains: 0,
        oldest: moment(full),
        newest: moment(incremental),
        damaged: 0,
        unreadable: null,
      },
    ]);
    const source = (backups: any[], formats: string[]) => ({
      host: hostname(),
      source: backups[0].source,
      formats,
      backups: 2,
      size: sum(backups, 'size'),
      storedSize: sum(backups, 'storedSize'),
      chains: 1,
      longestChain: 2,
      brokenChains: 0,
      oldest: moment(backups[0]),
      newest: moment(backups[1]),
      newestChain: 2,
    });
    const sources = [source(tar, ['tar']), source(btrfs, ['btrfs-send'])].sort((a, b) => (a.source < b.source ? -1 : 1));
    assert.equal(report.sources, sources);
    assert.equal(report.total, {
      backups: 4,
      size: sum(all, 'size'),
      storedSize: sum(all, 'storedSize') + sum(tar, 'storedSize'),
      chains: 2,
      longestChain: 2,
      brokenChains: 0,
      oldest: moment(full),
      newest: moment(btrfsIncremental),
    });

    const text = fixture.cli(['stats']);
    assert.is(text.status, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`^local +${fixture.repository} +4 +.* +2 +2 +0 +${full.id} +${btrfsIncremental.id} *$`, 'm'));
    assert.match(text.stdout, new RegExp(`^s3 +.* +2 +.* +1 +2 +0 +${full.id} +${incremental.id} *$`, 'm'));
    assert.match(
      text.stdout,
      new RegExp(`^${hostname()} +${subvolume} +btrfs-send +2 .* ${btrfsFull.id} +${btrfsIncremental.id} +2 *$`, 'm'),
    );
    assert.match(text.stdout, /^total: 4 backups of 2 sources, .* in 2 sinks$/m);

    // Without any part or index, and with a damaged manifest: stats reads only the manifests.
    for (const id of await readdir(path.join(fixture.repository, 'data')))
      await rm(path.join(fixture.repository, 'data', id), { recursive: true });
    const damaged = '20260101T000000Z-0badc0';
    await writeFile(path.join(fixture.repository, 'backups', `${damaged}.json`), '{ not json');
    const again = fixture.json(['stats']);
    assert.equal(again.sources, report.sources, 'the same figures without a single part');
    assert.equal([again.sinks[0].backups, again.sinks[0].damaged, again.sinks[1].damaged], [4, 1, 0]);
    assert.match(fixture.cli(['stats']).stdout, /^sink local: 1 backup with a damaged manifest, not counted/m);
  },
);

stats('a backup whose full backup is gone counts as a broken chain', async () => {
  const fixture = await CliFixture.create();
  const directory = await fixture.directory('alpha');
  const full = fixture.json(['create', directory]);
  const incremental = fixture.json(['create', directory, '--parent', 'latest']);
  await rm(path.join(fixture.repository, 'backups', `${full.id}.json`));
  const report = fixture.json(['stats']);
  assert.equal([report.sinks[0].backups, report.sinks[0].chains, report.sinks[0].longestChain, report.sinks[0].brokenChains], [1, 0, 1, 1]);
  assert.equal([report.sources[0].newest.id, report.sources[0].brokenChains], [incremental.id, 1]);
});

stats.run();
