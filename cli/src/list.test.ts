import { hostname } from 'node:os';
import { testNeeding } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { btrfsAvailable, btrfsNeeds, CliFixture } from './testing/CliFixture.js';

/** Three backups: two of a directory (tar; one from March 1st, one from March 15th made by `otherhost`) and one of a btrfs subvolume (btrfs-send, now). */
async function threeBackups() {
  const fixture = await CliFixture.create();
  const directory = await fixture.directory('alpha');
  const subvolume = await fixture.subvolume();
  const march1 = fixture.json(['create', directory, '--tag', 'daily']).id as string;
  const march15 = fixture.json(['create', directory, '--tag', 'weekly']).id as string;
  const today = fixture.json(['create', subvolume, '--tag', 'daily']);
  assert.is(today.format, 'btrfs-send');
  await fixture.rewriteManifest(march1, { created: '2026-03-01T10:00:00.000Z' });
  await fixture.rewriteManifest(march15, { created: '2026-03-15T10:00:00.000Z', host: 'otherhost' });
  return { fixture, directory, subvolume, march1, march15, today: today.id as string };
}

// ---

const filters = suite('list: filters');

testNeeding(
  filters,
  btrfsAvailable,
  btrfsNeeds,
  'each filter alone and combined, in --json and text, over tar and btrfs-send backups',
  async () => {
    const { fixture, directory, subvolume, march1, march15, today } = await threeBackups();
    const ids = (...args: string[]) => fixture.json<any[]>(['list', ...args]).map((backup) => backup.id);
    const all = fixture.json<any[]>(['list']);
    assert.equal(
      all.map((backup) => [backup.id, backup.host, backup.format]),
      [
        [march1, hostname(), 'tar'],
        [march15, 'otherhost', 'tar'],
        [today, hostname(), 'btrfs-send'],
      ],
    );

    assert.equal(ids('--tag', 'daily'), [march1, today]);
    assert.equal(ids('--tag', 'daily', '--tag', 'weekly'), [march1, march15, today], 'a repeated filter matches any of its values');
    assert.equal(ids('--host', 'otherhost'), [march15]);
    assert.equal(ids('--host', hostname()), [march1, today]);
    assert.equal(ids('--source', directory), [march1, march15]);
    assert.equal(ids('--source', `${directory}/`), [march1, march15], 'the path is resolved');
    assert.equal(
      fixture.json<any[]>(['list', '--source', 'alpha'], { cwd: fixture.home }).map((backup) => backup.id),
      [march1, march15],
      'a relative path is resolved against the current directory',
    );
    assert.equal(ids('--source', subvolume), [today]);

    assert.equal(ids('--since', '2026-03-02'), [march15, today]);
    assert.equal(ids('--until', '2026-03-01'), [march1], 'a date includes its whole day');
    assert.equal(ids('--since', '2026-03-01', '--until', '2026-03-15'), [march1, march15]);
    assert.equal(ids('--until', '2026-03-01T09:59:59Z'), []);
    assert.equal(ids('--since', '2026-03-01T11:00+01:00', '--until', '2026-03-01T10:00:00Z'), [march1], 'both ends are included');
    assert.equal(ids('--since', '7d'), [today]);
    assert.equal(ids('--until', '2w'), [march1, march15]);
    assert.equal(ids('--since', '12h', '--tag', 'weekly'), []);

    assert.equal(ids('--tag', 'daily', '--source', directory, '--until', '2026-03-10'), [march1], 'filters combine');
    assert.equal(ids('--tag', 'daily', '--host', hostname(), '--since', '1d'), [today]);

    const text = fixture.cli(['list', '--host', 'otherhost']);
    assert.is(text.status, 0, text.stderr);
    assert.match(text.stdout, /^id +created +host +name/);
    assert.match(text.stdout, new RegExp(`${march15} +2026-03-15T10:00:00Z +otherhost`));
    assert.not.match(text.stdout, new RegExp(`${march1}|${today}`));
    const none = fixture.cli(['list', '--tag', 'monthly', '--since', '7d']);
    assert.is(none.status, 0, none.stderr);
    assert.match(none.stdout, /^no backups match --tag monthly --since 7d in local \(/);
  },
);

filters('bad values: one line naming the option and the value, exit 2, nothing on stdout', async () => {
  const fixture = await CliFixture.create();
  fixture.json(['create', await fixture.directory('alpha')]);
  const cases: Array<[string[], RegExp]> = [
    [['--since', 'yesterday'], /--since "yesterday": not a date, time or age; give a date YYYY-MM-DD/],
    [['--until', '2026-02-30'], /--until "2026-02-30": no such day/],
    [['--since', '2026-13-01'], /--since "2026-13-01": no such day/],
    [['--since', '2026-03-01T24:00'], /--since "2026-03-01T24:00": no such time/],
    [['--until', '7x'], /--until "7x": not a date, time or age/],
    [['--since=-7d'], /--since "-7d": not a date, time or age/],
    [['--tag', ''], /--tag "" is empty/],
    [['--host', ' '], /--host " " is empty/],
    [['--source', ''], /--source "" is empty/],
    [['--since', '1d', '--until', '2d'], /--since "1d" \(.*\) is after --until "2d" \(.*\): no backup can match/],
  ];
  for (const [index, [args, message]] of cases.entries()) {
    for (const json of index === 0 ? [[], ['--json']] : [[]]) {
      const result = fixture.cli(['list', ...args, ...json]);
      assert.is(result.status, 2, `list ${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.match(result.stderr, /^rast-backup: error RB007: [^\n]*\n$/, `list ${args.join(' ')}: one line`);
      assert.is(result.stdout, '');
    }
  }
});

filters.run();
