import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  applyRetention,
  newChainReason,
  periodsOf,
  removalOrder,
  type RetentionCandidate,
  type RetentionRules,
} from './RetentionPolicy.js';

// Backups named by their time: `b('2025-03-01T03')` is made at 03:00 UTC that day.
const at = (time: string) => new Date(`${time}:00:00Z`).toISOString();
const idOf = (time: string) => `id-${time}`;
function b(time: string, parent: string | null = null, extra: Partial<RetentionCandidate> = {}): RetentionCandidate {
  return { id: idOf(time), created: at(time), parent: parent && idOf(parent), tags: [], host: 'h', source: '/', ...extra };
}
const utc = { timeZone: 'utc' as const };
const kept = (candidates: RetentionCandidate[], rules: RetentionRules) =>
  applyRetention(candidates, rules, utc)
    .filter((decision) => decision.keep)
    .map((decision) => decision.id);
const day = (date: Date) => date.toISOString().slice(0, 10);

// ---

const year = suite('retention: a simulated year of daily backups with incremental chains');

/** 2025, one backup a day at 03:00 UTC, each `--parent latest`, with full_every = 7: a new full every Wednesday. */
function simulateYear(): RetentionCandidate[] {
  const backups: RetentionCandidate[] = [];
  for (let time = Date.UTC(2025, 0, 1, 3); time <= Date.UTC(2025, 11, 31, 3); time += 86_400_000) {
    const now = new Date(time);
    const latest = backups.at(-1);
    const chain: RetentionCandidate[] = [];
    for (let link = latest; link; link = backups.find((candidate) => candidate.id === link!.parent)) chain.unshift(link);
    const full = !latest || newChainReason(chain, { fullEvery: 7 }, now) !== undefined;
    backups.push({ id: `id-${day(now)}`, created: now.toISOString(), parent: full ? null : latest!.id, tags: [], host: 'h', source: '/' });
  }
  return backups;
}

/** Every day from `first` to `last`, inclusive. */
function days(first: string, last: string): string[] {
  const result: string[] = [];
  for (let time = Date.parse(first); time <= Date.parse(last); time += 86_400_000) result.push(day(new Date(time)));
  return result;
}

year('full_every = 7 makes every Wednesday a full backup, each chain one full and six incrementals', () => {
  const backups = simulateYear();
  assert.is(backups.length, 365);
  const fulls = backups.filter((backup) => backup.parent === null).map((backup) => new Date(backup.created).getUTCDay());
  assert.is(fulls.length, 53);
  assert.ok(
    fulls.every((weekday) => weekday === 3),
    'every full backup is on a Wednesday (1 January 2025 was one)',
  );
});

year('daily 7, weekly 4, monthly 12 keeps what the rules pick and exactly the chains those need', () => {
  const backups = simulateYear();
  // What the rules pick: daily 25–31 Dec; weekly the Sundays 14, 21, 28 Dec and Wed 31 Dec (2026-W01);
  // monthly the last day of each month. The chain rule adds each pick's chain back to its Wednesday.
  const expected = [
    ['2025-01-29', '2025-01-31'], // Fri 31 Jan
    ['2025-02-26', '2025-02-28'], // Fri 28 Feb
    ['2025-03-26', '2025-03-31'], // Mon 31 Mar
    ['2025-04-30', '2025-04-30'], // Wed 30 Apr: a full backup, needs nothing
    ['2025-05-28', '2025-05-31'], // Sat
    ['2025-06-25', '2025-06-30'], // Mon
    ['2025-07-30', '2025-07-31'], // Thu
    ['2025-08-27', '2025-08-31'], // Sun
    ['2025-09-24', '2025-09-30'], // Tue
    ['2025-10-29', '2025-10-31'], // Fri
    ['2025-11-26', '2025-11-30'], // Sun
    ['2025-12-10', '2025-12-14'], // weekly 2025-W50
    ['2025-12-17', '2025-12-21'], // weekly 2025-W51
    ['2025-12-24', '2025-12-31'], // daily 25–31, weekly W52 and 2026-W01, monthly December
  ].flatMap(([first, last]) => days(first!, last!).map((date) => `id-${date}`));
  const decisions = applyRetention(backups, { daily: 7, weekly: 4, monthly: 12 }, utc);
  assert.equal(
    decisions.filter((decision) => decision.keep).map((decision) => decision.id),
    expected,
  );
  assert.is(expected.length, 63);

  const reasons = new Map(decisions.map((decision) => [decision.id, decision.reasons]));
  assert.equal(reasons.get('id-2025-12-31'), [
    'latest of h:/',
    'daily 1/7 (2025-12-31)',
    'weekly 1/4 (2026-W01)',
    'monthly 1/12 (2025-12)',
  ]);
  assert.equal(reasons.get('id-2025-01-31'), ['monthly 12/12 (2025-01)']);
  assert.equal(reasons.get('id-2025-01-29'), ['needed by id-2025-01-31']);
  assert.equal(reasons.get('id-2025-12-24'), ['needed by id-2025-12-30'], 'names the newest kept backup that needs it');
  assert.equal(reasons.get('id-2025-12-25'), ['daily 7/7 (2025-12-25)', 'needed by id-2025-12-30']);
  assert.match(reasons.get('id-2025-12-23')![0]!, /^kept by no rule \(daily 7, weekly 4, monthly 12\)/);
});

year('no kept backup is left without its chain, and removal goes children before parents', () => {
  const backups = simulateYear();
  const decisions = applyRetention(backups, { daily: 7, weekly: 4, monthly: 12 }, utc);
  const keep = new Set(decisions.filter((decision) => decision.keep).map((decision) => decision.id));
  const byId = new Map(backups.map((backup) => [backup.id, backup]));
  for (const id of keep) {
    const parent = byId.get(id)!.parent;
    if (parent) assert.ok(keep.has(parent), `${id} is kept, so its parent ${parent} is`);
  }
  const order = removalOrder(decisions, backups);
  assert.is(order.length, 365 - 63);
  const removed = new Set<string>();
  for (const id of order) {
    assert.not.ok(
      backups.some((backup) => backup.parent === id && !removed.has(backup.id)),
      `every child of ${id} is gone before it`,
    );
    removed.add(id);
  }
});

year('with only full backups, nothing but the picks is kept', () => {
  const fulls = simulateYear().map((backup) => ({ ...backup, parent: null }));
  assert.is(kept(fulls, { daily: 7, weekly: 4, monthly: 12 }).length, 7 + 2 + 11);
});

year.run();

// ---

const rules = suite('retention: each rule');

const table: Array<{ name: string; backups: RetentionCandidate[]; rules: RetentionRules; keep: string[] }> = [
  {
    name: 'last keeps the N newest',
    backups: [b('2025-01-01T01'), b('2025-01-01T02'), b('2025-01-01T03'), b('2025-01-01T04')],
    rules: { last: 2 },
    keep: ['2025-01-01T03', '2025-01-01T04'],
  },
  {
    name: 'hourly keeps the newest of each hour',
    backups: [b('2025-01-01T01'), b('2025-01-01T02'), b('2025-01-01T03')].flatMap((backup) => [
      { ...backup, id: `${backup.id}-a`, created: backup.created.replace(':00:00', ':10:00') },
      { ...backup, id: `${backup.id}-b`, created: backup.created.replace(':00:00', ':50:00') },
    ]),
    rules: { hourly: 2 },
    keep: ['2025-01-01T02-b', '2025-01-01T03-b'],
  },
  {
    name: 'daily counts days that have a backup: a gap does not use it up',
    backups: [b('2025-01-01T03'), b('2025-01-02T03'), b('2025-01-03T03'), b('2025-01-20T03'), b('2025-01-21T03')],
    rules: { daily: 4 },
    keep: ['2025-01-02T03', '2025-01-03T03', '2025-01-20T03', '2025-01-21T03'],
  },
  {
    name: 'weekly follows ISO weeks: Monday to Sunday',
    backups: [b('2025-01-05T03'), b('2025-01-06T03'), b('2025-01-12T03'), b('2025-01-13T03')],
    rules: { weekly: 2 },
    keep: ['2025-01-12T03', '2025-01-13T03'],
  },
  {
    name: 'yearly keeps the newest of each year',
    backups: [b('2023-06-01T03'), b('2023-12-31T03'), b('2024-01-01T03'), b('2024-12-31T03'), b('2025-03-01T03')],
    rules: { yearly: 2 },
    keep: ['2024-12-31T03', '2025-03-01T03'],
  },
  {
    name: 'keep_tags keeps tagged backups whatever their age',
    backups: [b('2020-01-01T03', null, { tags: ['before-upgrade'] }), b('2020-01-02T03', null, { tags: ['daily'] }), b('2025-01-01T03')],
    rules: { last: 1, keepTags: ['before-upgrade'] },
    keep: ['2020-01-01T03', '2025-01-01T03'],
  },
  {
    name: 'each host and source is its own group; the latest of each is always kept',
    backups: [
      b('2025-01-01T03'),
      b('2025-01-02T03'),
      b('2025-01-01T04', null, { source: '/home' }),
      b('2025-01-01T05', null, { host: 'other' }),
      b('2025-01-03T03'),
    ],
    rules: { last: 1 },
    keep: ['2025-01-01T04', '2025-01-01T05', '2025-01-03T03'],
  },
  {
    name: 'two incrementals on one full: keeping one keeps the full, the other goes',
    backups: [b('2025-01-01T03'), b('2025-01-02T03', '2025-01-01T03'), b('2025-01-03T03', '2025-01-01T03')],
    rules: { last: 1 },
    keep: ['2025-01-01T03', '2025-01-03T03'],
  },
  {
    name: 'an incremental whose parent is gone is kept by its rules, and nothing breaks',
    backups: [b('2025-01-02T03', '2025-01-01T03'), b('2025-01-03T03', '2025-01-02T03')],
    rules: { last: 1 },
    keep: ['2025-01-02T03', '2025-01-03T03'],
  },
  {
    name: 'rules add up: a backup kept by several rules is kept once',
    backups: [b('2025-01-30T03'), b('2025-01-31T03'), b('2025-02-01T03'), b('2025-02-02T03')],
    rules: { daily: 2, monthly: 2 },
    keep: ['2025-01-31T03', '2025-02-01T03', '2025-02-02T03'],
  },
];

for (const row of table) {
  rules(row.name, () => {
    assert.equal(kept(row.backups, row.rules), row.keep.map(idOf));
  });
}

rules('removal order: deepest first, so every delete finds no dependents', () => {
  const backups = [
    b('2025-01-01T01'),
    b('2025-01-01T02', '2025-01-01T01'),
    b('2025-01-01T03', '2025-01-01T02'),
    b('2025-01-01T04'),
    b('2025-01-01T05', '2025-01-01T04'),
  ];
  const decisions = applyRetention(backups, { last: 1 }, utc);
  assert.equal(removalOrder(decisions, backups), ['2025-01-01T03', '2025-01-01T02', '2025-01-01T01'].map(idOf));
});

rules('ISO week labels at year boundaries', () => {
  assert.is(periodsOf(new Date('2024-12-30T12:00:00Z'), 'utc').weekly, '2025-W01');
  assert.is(periodsOf(new Date('2021-01-03T12:00:00Z'), 'utc').weekly, '2020-W53');
  assert.is(periodsOf(new Date('2025-12-28T12:00:00Z'), 'utc').weekly, '2025-W52');
  assert.is(periodsOf(new Date('2025-06-15T07:30:00Z'), 'utc').hourly, '2025-06-15 07h');
});

rules.run();

// ---

const chainRule = suite('retention: when create --parent latest starts a new full backup');

const chainOf = (length: number, fullCreated = '2025-01-01T03:00:00.000Z') =>
  Array.from({ length }, (_, index) => ({ id: `c${index}`, created: index === 0 ? fullCreated : '2025-01-05T03:00:00.000Z' }));
const now = new Date('2025-01-08T03:00:00Z');

const chainTable: Array<[string, number, { fullEvery?: number; fullAfterDays?: number }, RegExp | undefined]> = [
  ['no rule: always extend', 30, {}, undefined],
  ['full_every 7, chain of 6: extend to 7', 6, { fullEvery: 7 }, undefined],
  ['full_every 7, chain of 7: new full', 7, { fullEvery: 7 }, /chain of c6 holds 7 backups \(full_every = 7\)/],
  ['full_every 1: every backup is full', 1, { fullEvery: 1 }, /holds 1 backup \(full_every = 1\)/],
  ['full_after_days 7, full 7 days old: new full', 2, { fullAfterDays: 7 }, /full backup c0 is 7 days old \(full_after_days = 7\)/],
  ['full_after_days 8, full 7 days old: extend', 2, { fullAfterDays: 8 }, undefined],
];
for (const [name, length, chainRules, expected] of chainTable) {
  chainRule(name, () => {
    const reason = newChainReason(chainOf(length), chainRules, now);
    if (expected) assert.match(reason ?? '', expected);
    else assert.is(reason, undefined);
  });
}

chainRule.run();
