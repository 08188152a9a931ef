import { spawnSync } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { newBackupId } from '@rast-backup/core';
import { temporaryDirectory } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const BINARY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'node_modules', '.bin', 'rast-backup');

function cli(args: string[]) {
  const result = spawnSync(BINARY, args, { encoding: 'utf8', env: { ...process.env, RAST_BACKUP_CONFIG: '' } });
  return { status: result.status, stdout: String(result.stdout), stderr: String(result.stderr) };
}

function json<T = any>(args: string[]): T {
  const result = cli([...args, '--json']);
  assert.is(result.status, 0, `rast-backup ${args.join(' ')}: exit ${result.status}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

/** A local repository and a source; `retention` is the [retention] table's body, or null for a config without one. */
async function setup(retention: string | null) {
  const home = await temporaryDirectory();
  const repository = path.join(home, 'repository');
  const config = path.join(home, 'config.toml');
  const table = retention === null ? '' : `\n[retention]\n${retention}\n`;
  await writeFile(config, `[storage]\nlocal.path = ${JSON.stringify(repository)}\n${table}`);
  const source = path.join(home, 'source');
  await mkdir(source);
  await writeFile(path.join(source, 'file'), 'content\n');
  return { home, repository, config, source };
}

/** Data of a create that never committed: one part, no manifest. */
async function leftover(repository: string, id: string) {
  await mkdir(path.join(repository, 'data', id), { recursive: true });
  await writeFile(path.join(repository, 'data', id, '000000.part'), 'partial');
}

// ---

const prune = suite('prune through the real CLI');

prune('full_every starts new chains; prune --dry-run explains; prune removes children before parents and old leftovers only', async () => {
  const { repository, config, source } = await setup('last = 2\nfull_every = 3\nleftover_age_hours = 24');
  const ids: string[] = [];
  for (let index = 0; index < 5; index++) {
    ids.push(json(['create', source, '--config', config, ...(index === 0 ? [] : ['--parent', 'latest'])]).id);
  }
  const parents = json<any[]>(['list', '--config', config]).map((backup) => backup.parent);
  assert.equal(parents, [null, ids[0], ids[1], null, ids[3]], 'the chain of three ends; the fourth create starts a new full backup');

  const old = newBackupId(new Date(Date.now() - 25 * 3_600_000));
  const recent = newBackupId(new Date(Date.now() - 3_600_000));
  const damaged = newBackupId(new Date(Date.now() - 100 * 3_600_000));
  for (const id of [old, recent, damaged]) await leftover(repository, id);
  await writeFile(path.join(repository, 'backups', `${damaged}.json`), '{ not json');

  const plan = json(['prune', '--dry-run', '--config', config]);
  assert.is(plan.dryRun, true);
  assert.equal(plan.removed, [ids[2], ids[1], ids[0]], 'children before parents');
  const reasons = Object.fromEntries(plan.backups.map((backup: any) => [backup.id, backup.reasons.join('; ')]));
  assert.match(reasons[ids[4]!], /latest of .*; last 1\/2/);
  assert.match(reasons[ids[3]!], /last 2\/2; needed by/);
  assert.match(reasons[ids[0]!], /kept by no rule \(last 2\)/);
  const leftovers = Object.fromEntries(plan.leftovers.map((entry: any) => [entry.id, entry]));
  assert.equal([leftovers[old].remove, leftovers[recent].remove, leftovers[damaged].remove], [true, false, false]);
  assert.match(leftovers[recent].reason, /a create may still be writing it/);
  assert.match(leftovers[damaged].reason, /manifest is there but unreadable/);
  assert.equal(
    json<any[]>(['list', '--config', config]).map((backup) => backup.status),
    ['complete', 'complete', 'complete', 'complete', 'complete', 'damaged'],
    'a dry run removes nothing',
  );
  assert.equal((await readdir(path.join(repository, 'data'))).sort(), [...ids, old, recent, damaged].sort());

  const text = cli(['prune', '--dry-run', '--config', config]);
  assert.is(text.status, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`keep   ${ids[3]}: last 2/2; needed by ${ids[4]}`));
  assert.match(text.stdout, new RegExp(`remove ${ids[0]}: kept by no rule`));
  assert.match(text.stdout, /dry run: would remove 3 of 5 backups and 1 leftovers of interrupted creates/);

  const done = json(['prune', '--config', config]);
  assert.equal(done.removed, [ids[2], ids[1], ids[0]]);
  assert.equal(
    json<any[]>(['list', '--config', config]).map((backup) => backup.id),
    [ids[3], ids[4], damaged],
    'the damaged manifest is left for inspection',
  );
  assert.equal((await readdir(path.join(repository, 'data'))).sort(), [ids[3], ids[4], recent, damaged].sort());
  assert.is(cli(['verify', 'latest', '--config', config]).status, 0, 'the kept chain is whole');
  assert.equal(json(['prune', '--config', config]).removed, [], 'a second prune has nothing to do');
});

prune('prune_after_create prunes after each successful create', async () => {
  const { config, source } = await setup('last = 1\nprune_after_create = true');
  const first = json(['create', source, '--config', config]).id;
  const second = json(['create', source, '--config', config]).id;
  assert.equal(
    json<any[]>(['list', '--config', config]).map((backup) => backup.id),
    [second],
  );
  const incremental = json(['create', source, '--parent', 'latest', '--config', config]);
  assert.is(incremental.parent, second);
  assert.equal(
    json<any[]>(['list', '--config', config]).map((backup) => backup.id),
    [second, incremental.id],
    'the parent a kept incremental needs stays',
  );
  assert.is.not(first, second);
});

prune('a [retention] table without a counting rule: prune refuses, naming the key', async () => {
  const { config } = await setup('keep_tags = ["keep"]');
  const result = cli(['prune', '--config', config]);
  assert.is(result.status, 2, result.stderr);
  assert.match(result.stderr, /retention: no rule says how many backups to keep/);
});

prune('an unknown key in [retention] is a config error naming the key', async () => {
  const { config } = await setup('dayly = 7');
  const result = cli(['list', '--config', config]);
  assert.is(result.status, 2, result.stderr);
  assert.match(result.stderr, /retention\.dayly: unknown key \(did you mean daily\?\)/);
});

prune('the temporary files of a create killed mid-write (a part and the manifest) count in its leftover and go with it', async () => {
  const { repository, config, source } = await setup('last = 1\nleftover_age_hours = 24');
  const kept = json(['create', source, '--config', config]).id as string;
  const dead = spawnSync('true').pid;
  const id = newBackupId(new Date(Date.now() - 48 * 3_600_000));
  await leftover(repository, id);
  await writeFile(path.join(repository, 'data', id, `000001.part.tmp-${dead}-0badc0de`), 'half a part');
  await writeFile(path.join(repository, 'backups', `${id}.json.tmp-${dead}-0badc0de`), '{"half":');
  const listed = json<any[]>(['list', '--all', '--config', config]).filter((entry) => entry.status === 'incomplete');
  assert.equal(
    listed.map((entry) => [entry.id, entry.objects]),
    [[id, 3]],
  );
  const done = json(['prune', '--config', config]);
  assert.equal(
    done.leftovers.map((entry: any) => [entry.id, entry.objects, entry.remove]),
    [[id, 3, true]],
  );
  assert.equal(await readdir(path.join(repository, 'data')), [kept]);
  assert.equal(await readdir(path.join(repository, 'backups')), [`${kept}.json`]);
});

prune.run();

// ---

const flags = suite('prune --keep-*: retention from the command line');

flags('the --keep-* options replace [retention] for one run; --dry-run explains each decision', async () => {
  const { config, source } = await setup('last = 10');
  const ids: string[] = [];
  for (let index = 0; index < 4; index++)
    ids.push(json(['create', source, '--config', config, ...(index === 1 ? ['--tag', 'keep'] : [])]).id);
  assert.equal(json(['prune', '--dry-run', '--config', config]).removed, [], '[retention] last = 10 keeps all four');

  const plan = json(['prune', '--dry-run', '--keep-last', '2', '--config', config]);
  assert.equal([plan.rules, plan.rulesFrom], ['last 2', 'command line']);
  assert.equal(plan.removed, [ids[1], ids[0]]);
  const reasons = Object.fromEntries(plan.backups.map((backup: any) => [backup.id, backup.reasons.join('; ')]));
  assert.match(reasons[ids[0]!], /^kept by no rule \(last 2\)/);
  assert.match(reasons[ids[2]!], /^last 2\/2$/);

  const tagged = json(['prune', '--dry-run', '--keep-last', '1', '--keep-tag', 'keep', '--keep-tag', 'other', '--config', config]);
  assert.equal([tagged.rules, tagged.removed], ['last 1, keep_tags keep, other', [ids[2], ids[0]]]);
  assert.match(tagged.backups[1].reasons.join('; '), /^tag keep$/);

  const calendar = json([
    'prune',
    '--dry-run',
    '--keep-hourly',
    '1',
    '--keep-daily',
    '1',
    '--keep-weekly',
    '1',
    '--keep-monthly',
    '1',
    '--keep-yearly=1',
    '--config',
    config,
  ]);
  assert.equal(calendar.removed, [ids[2], ids[1], ids[0]], 'each calendar rule with 1 keeps only the newest backup');
  assert.match(
    calendar.backups[3].reasons.join('; '),
    /latest of .*; hourly 1\/1 \(.*\); daily 1\/1 \(.*\); weekly 1\/1 \(.*\); monthly 1\/1 \(.*\); yearly 1\/1/,
  );
  assert.is(calendar.rules, 'hourly 1, daily 1, weekly 1, monthly 1, yearly 1');

  const text = cli(['prune', '--dry-run', '--keep-last', '3', '--config', config]);
  assert.is(text.status, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`remove ${ids[0]}: kept by no rule \\(last 3\\)`));
  assert.match(text.stdout, /dry run: would remove 1 of 4 backups, .* \(rules from the command line: last 3\)/);
  assert.equal(json<any[]>(['list', '--config', config]).length, 4, 'dry runs remove nothing');

  const done = json(['prune', '--keep-last', '2', '--config', config]);
  assert.equal([done.dryRun, done.removed], [false, [ids[1], ids[0]]]);
  assert.equal(
    json<any[]>(['list', '--config', config]).map((backup) => backup.id),
    [ids[2], ids[3]],
  );
  assert.equal(json(['prune', '--config', config]).rulesFrom, 'config', 'the next run follows [retention] again');
});

flags('without a [retention] table, prune runs on --keep-* alone, and without them names both ways', async () => {
  const { config, source } = await setup(null);
  const first = json(['create', source, '--config', config]).id;
  const incremental = json(['create', source, '--parent', 'latest', '--config', config]).id;
  const last = json(['create', source, '--config', config]).id;
  const done = json(['prune', '--keep-last', '1', '--config', config]);
  assert.equal(done.removed, [incremental, first], 'children before parents');
  assert.equal(
    json<any[]>(['list', '--config', config]).map((backup) => backup.id),
    [last],
  );
  const bare = cli(['prune', '--config', config]);
  assert.is(bare.status, 2, bare.stderr);
  assert.match(bare.stderr, /^rast-backup: error RB002: .*config\.toml: retention: no rule says how many backups to keep: .*--keep-last/);
});

flags('bad --keep-* values: a usage error naming the option and the value, exit 2, nothing removed', async () => {
  const { config, source } = await setup('last = 1');
  json(['create', source, '--config', config]);
  json(['create', source, '--config', config]);
  const cases: Array<[string[], RegExp]> = [
    [['--keep-last=-1'], /usage error: Invalid value for --keep-last: expected to be at least 0 \(got -1\)/],
    [['--keep-last', '-1'], /usage error: option --keep-last needs a value: "-1" is read as an option/],
    [['--keep-daily', '1.5'], /usage error: Invalid value for --keep-daily: expected to be an integer \(got 1\.5\)/],
    [['--keep-weekly', 'four'], /usage error: Invalid value for --keep-weekly: expected a number \(got "four"\)/],
    [['--keep-monthly', ''], /usage error: Invalid value for --keep-monthly: expected a number \(got an empty string\)/],
    [['--keep-yearly', '2', '--keep-tag', ''], /error RB007: --keep-tag "" is empty/],
    [['--keep-tag', 'keep'], /error RB007: --keep-tag keep: does not say how many backups to keep/],
    [['--keep-hourly', '0'], /error RB007: --keep-hourly 0: does not say how many backups to keep/],
  ];
  for (const [args, message] of cases) {
    const result = cli(['prune', ...args, '--config', config]);
    assert.is(result.status, 2, `prune ${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, message);
    assert.ok(result.stderr.split('\n')[0]!.length > 0 && !/^\s+at /m.test(result.stderr), 'one message, no stack trace');
    assert.is(result.stdout, '');
  }
  assert.equal(json<any[]>(['list', '--config', config]).length, 2);
});

flags.run();
