import { readFileSync } from 'node:fs';
import { cp, mkdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { RepositoryKeys } from '@rast-backup/core';
import { temporaryDirectory, testNeeding } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cliAsync, mapLimited, writeConfig, type Result } from '../support.js';
import { assertNoCrash, stderrLines } from './expectations.js';
import { hasZstd, readManifest, resealObject, writeManifest } from './ForgedBackup.js';

const test = suite('hostile: damaged repositories');

type Name = 'A' | 'B' | 'C';
interface Repo {
  home: string;
  repository: string;
  ids: Record<Name, string>;
  part: (name: Name, seq: number) => string;
}

/** Exit status and a pattern the output must match (stderr when it fails, else stdout); `ID:X` stands for backup X's id. */
type Expect = [status: number, pattern?: RegExp];
type Command = 'list' | 'info' | 'verify' | 'verifyAll' | 'restore' | 'create' | 'prune' | 'delete';

interface DamageCase {
  name: string;
  /** The backup the commands name. */
  target: Name;
  damage: (repo: Repo) => Promise<void>;
  /** The backups `list` must show, of A, B, C. */
  listed: Name[];
  /** The backups `list` must show as damaged (a manifest damaged in every sink), after those listed. */
  damaged?: Name[];
  expect: Record<Command, Expect>;
  /** More commands to check (`ID:X` is backup X's id, `DEST` a fresh destination). */
  extra?: Array<[args: string[], expect: Expect]>;
}

/**
 * A: full backup of src1 (3 parts of 1 MiB), B: incremental of src1 on A, C: full backup of src2, the
 * intact control that must stay usable whatever happens to the others.
 */
const template = (async () => {
  const home = await temporaryDirectory('rast-hostile-damaged-');
  const repository = path.join(home, 'repository');
  const config = await writeConfig(home, configText(repository));
  const src1 = path.join(home, 'src1');
  await mkdir(path.join(src1, 'sub'), { recursive: true });
  await writeFile(path.join(src1, 'big.bin'), Buffer.from(Array.from({ length: 2_500_000 }, (_, i) => (i * 2654435761) >>> 24)));
  await writeFile(path.join(src1, 'sub', 'b.txt'), 'b\n');
  const create = async (source: string, ...extra: string[]) => {
    const result = await cliAsync(['create', source, '--json', '--config', config, ...extra]);
    assert.is(result.status, 0, result.stderr);
    return JSON.parse(result.stdout).id as string;
  };
  const A = await create(src1);
  await writeFile(path.join(src1, 'new.txt'), 'new\n');
  const B = await create(src1, '--parent', 'latest');
  const src2 = path.join(home, 'src2');
  await mkdir(src2);
  await writeFile(path.join(src2, 'c.txt'), 'control\n');
  const C = await create(src2);
  return { home, repository, ids: { A, B, C } as Record<Name, string> };
})();

function configText(repository: string): string {
  return `[storage]\nlocal.path = ${JSON.stringify(repository)}\n\n[backup]\npart_size_mib = 1\n\n[retention]\nlast = 10\n`;
}

const flip = async (file: string, offset = 100) => {
  const bytes = await readFile(file);
  bytes[offset] ^= 0xff;
  await writeFile(file, bytes);
};
const manifestFile = (repo: Repo, name: Name) => path.join(repo.repository, RepositoryKeys.manifest(repo.ids[name]));
const FAKE_PARENT = '20200101T000000Z-abcdef';

const CASES: DamageCase[] = [
  {
    name: 'flipped byte in a part',
    target: 'A',
    damage: (repo) => flip(repo.part('A', 1)),
    listed: ['A', 'B', 'C'],
    expect: {
      list: [0],
      info: [0],
      verify: [
        1,
        /damaged: backup ID:A, part 2 of 3 \(data\/ID:A\/000001\.part\) in sink local: SHA-256 [0-9a-f]+…, expected [0-9a-f]+…[\s\S]*backup ID:A is needed to restore ID:B/,
      ],
      verifyAll: [1, /damaged: backup ID:A, part 2 of 3/],
      restore: [1, /RB014: backup ID:A, part 2 of 3 \(data\/ID:A\/000001\.part\): no good copy in any sink: local: SHA-256/],
      create: [0],
      prune: [0],
      delete: [1, /RB012: backup ID:A is the parent of ID:B/],
    },
    extra: [
      [
        ['restore', 'ID:B', 'DEST'],
        [1, /RB014: backup ID:A, part 2 of 3 .*SHA-256/],
      ],
    ],
  },
  {
    name: 'truncated part',
    target: 'A',
    damage: (repo) => truncate(repo.part('A', 0), 1000),
    listed: ['A', 'B', 'C'],
    expect: {
      list: [0],
      info: [0],
      verify: [1, /damaged: backup ID:A, part 1 of 3 \(data\/ID:A\/000000\.part\) in sink local: size 1000, expected \d+/],
      verifyAll: [1, /damaged: backup ID:A, part 1 of 3/],
      restore: [1, /RB014: backup ID:A, part 1 of 3 .*size 1000, expected/],
      create: [0],
      prune: [0],
      delete: [1, /RB012: backup ID:A is the parent of ID:B/],
    },
  },
  {
    name: 'missing part',
    target: 'A',
    damage: (repo) => rm(repo.part('A', 2)),
    listed: ['A', 'B', 'C'],
    expect: {
      list: [0],
      info: [0],
      verify: [1, /damaged: backup ID:A, part 3 of 3 \(data\/ID:A\/000002\.part\) in sink local: is missing/],
      verifyAll: [1, /damaged: backup ID:A, part 3 of 3 .* is missing/],
      restore: [1, /RB013: backup ID:A, part 3 of 3 .*missing/],
      create: [0],
      prune: [0],
      delete: [1, /RB012: backup ID:A is the parent of ID:B/],
    },
    extra: [
      [
        ['restore', 'ID:B', 'DEST'],
        [1, /RB013: backup ID:A, part 3 of 3 .*missing/],
      ],
    ],
  },
  {
    name: 'missing manifest of the parent',
    target: 'B',
    damage: (repo) => rm(manifestFile(repo, 'A')),
    listed: ['B', 'C'],
    expect: {
      list: [0],
      info: [1, /RB022: backup ID:B needs its parent ID:A, which is in no sink/],
      verify: [1, /damaged: backup ID:B needs its parent ID:A, which is in no sink/],
      verifyAll: [1, /damaged: backup ID:B needs its parent ID:A/],
      restore: [1, /RB022: backup ID:B needs its parent ID:A, which is in no sink/],
      create: [0, /warning: .*ID:B.*full backup/],
      prune: [0],
      delete: [0],
    },
  },
  {
    name: 'manifest that is not JSON',
    target: 'A',
    damage: (repo) => writeFile(manifestFile(repo, 'A'), '{"format": "rast-backup/manifest", "id": '),
    listed: ['B', 'C'],
    damaged: ['A'],
    expect: {
      list: [0, /warning: manifest of backup ID:A in sink local .* is damaged: not JSON/],
      info: [1, /RB010: no backup ID:A/],
      verify: [
        1,
        /damaged: backup ID:A, manifest \(backups\/ID:A\.json\) in sink local is damaged: not JSON[\s\S]*backup ID:A is needed to restore ID:B/,
      ],
      verifyAll: [1, /damaged: backup ID:A, manifest \(backups\/ID:A\.json\) in sink local is damaged: not JSON/],
      restore: [1, /RB010: no backup ID:A/],
      create: [0, /warning: .*ID:B.*full backup/],
      prune: [0],
      // Its data is kept while a listed backup is built on it (the recovery document can still use it).
      delete: [1, /RB012: backup ID:A is the parent of ID:B/],
    },
  },
  {
    name: 'manifest of the wrong schema',
    target: 'A',
    damage: async (repo) => {
      const manifest = (await readManifest(repo.repository, repo.ids.A)) as unknown as Record<string, unknown>;
      manifest.parts = 'all of them';
      delete manifest.index;
      await writeManifest(repo.repository, manifest);
    },
    listed: ['B', 'C'],
    damaged: ['A'],
    expect: {
      list: [0, /warning: manifest of backup ID:A in sink local .* is damaged: .*parts/],
      info: [1, /RB010: no backup ID:A/],
      verify: [1, /damaged: backup ID:A, manifest .* is damaged: .*parts/],
      verifyAll: [1, /damaged: backup ID:A, manifest .* is damaged: .*parts/],
      restore: [1, /RB010: no backup ID:A/],
      create: [0, /warning: .*ID:B.*full backup/],
      prune: [0],
      // Its data is kept while a listed backup is built on it (the recovery document can still use it).
      delete: [1, /RB012: backup ID:A is the parent of ID:B/],
    },
  },
  {
    name: "manifest pointing at another backup's parts",
    target: 'B',
    damage: async (repo) => {
      const manifest = await readManifest(repo.repository, repo.ids.B);
      manifest.parts = (await readManifest(repo.repository, repo.ids.A)).parts;
      await writeManifest(repo.repository, manifest);
    },
    listed: ['A', 'C'],
    damaged: ['B'],
    expect: {
      list: [
        0,
        /warning: manifest of backup ID:B in sink local .* is damaged: it points at data\/ID:A\/000000\.part, outside data\/ID:B\//,
      ],
      info: [1, /RB010: no backup ID:B/],
      verify: [1, /damaged: backup ID:B, manifest .* is damaged: it points at data\/ID:A/],
      verifyAll: [1, /damaged: backup ID:B, manifest .* is damaged: it points at data\/ID:A/],
      restore: [1, /RB010: no backup ID:B/],
      create: [0],
      prune: [0],
      // Nothing is built on it: delete <full id> removes its manifest and data.
      delete: [0],
    },
  },
  {
    name: 'manifest naming another id',
    target: 'B',
    damage: async (repo) => {
      const manifest = await readManifest(repo.repository, repo.ids.A);
      await writeFile(manifestFile(repo, 'B'), JSON.stringify(manifest));
    },
    listed: ['A', 'C'],
    damaged: ['B'],
    expect: {
      list: [0, /warning: manifest of backup ID:B .* is damaged: it names backup ID:A, not ID:B/],
      info: [1, /RB010: no backup ID:B/],
      verify: [1, /damaged: backup ID:B, manifest .* it names backup ID:A/],
      verifyAll: [1, /damaged: backup ID:B, manifest .* it names backup ID:A/],
      restore: [1, /RB010: no backup ID:B/],
      create: [0],
      prune: [0],
      // Nothing is built on it: delete <full id> removes its manifest and data.
      delete: [0],
    },
  },
  {
    name: 'parent id that does not exist',
    target: 'B',
    damage: async (repo) => {
      const manifest = await readManifest(repo.repository, repo.ids.B);
      manifest.parent = FAKE_PARENT;
      await writeManifest(repo.repository, manifest);
    },
    listed: ['A', 'B', 'C'],
    expect: {
      list: [0],
      info: [1, new RegExp(`RB022: backup ID:B needs its parent ${FAKE_PARENT}, which is in no sink`)],
      verify: [1, new RegExp(`damaged: backup ID:B needs its parent ${FAKE_PARENT}`)],
      verifyAll: [1, new RegExp(`damaged: backup ID:B needs its parent ${FAKE_PARENT}`)],
      restore: [1, new RegExp(`RB022: backup ID:B needs its parent ${FAKE_PARENT}, which is in no sink`)],
      create: [0, /warning: .*ID:B.*full backup/],
      prune: [0],
      delete: [0],
    },
  },
  {
    name: 'parent cycle A → B → A',
    target: 'A',
    damage: async (repo) => {
      const manifest = await readManifest(repo.repository, repo.ids.A);
      manifest.parent = repo.ids.B;
      await writeManifest(repo.repository, manifest);
    },
    listed: ['A', 'B', 'C'],
    expect: {
      list: [0],
      info: [1, /RB022: backup ID:A: its chain of parents loops at ID:A/],
      verify: [1, /damaged: backup ID:A: its chain of parents loops at ID:A/],
      verifyAll: [1, /damaged: backup ID:A: its chain of parents loops/],
      restore: [1, /RB022: backup ID:A: its chain of parents loops at ID:A/],
      create: [0, /warning: .*ID:B.*full backup/],
      prune: [0],
      delete: [0, /warning: backup ID:A is in a loop of parents with ID:B \(none of them can be restored\); deleting it anyway/],
    },
  },
  {
    name: 'file index with a flipped byte',
    target: 'B',
    damage: async (repo) => flip(path.join(repo.repository, RepositoryKeys.index(repo.ids.B)), 20),
    listed: ['A', 'B', 'C'],
    expect: {
      list: [0],
      info: [0],
      verify: [1, /damaged: backup ID:B, file index \(data\/ID:B\/index\) in sink local: SHA-256/],
      verifyAll: [1, /damaged: backup ID:B, file index/],
      restore: [1, /RB014: backup ID:B, file index \(data\/ID:B\/index\): no good copy in any sink: local: SHA-256/],
      create: [1, /RB014: backup ID:B, file index/],
      prune: [0],
      delete: [0],
    },
  },
  {
    name: 'file index that is not zstd (checksum resealed)',
    target: 'B',
    damage: (repo) => resealObject(repo.repository, repo.ids.B, 'index', Buffer.from('this is not a zstd frame\n'), { raw: true }),
    listed: ['A', 'B', 'C'],
    expect: {
      list: [0],
      info: [0],
      verify: [1, /damaged: backup ID:B, file index \([^)]+\) in sink local: zstd could not decode it/],
      verifyAll: [1, /damaged: backup ID:B, file index \([^)]+\) in sink local: zstd could not decode it/],
      restore: [1, /RB014: backup ID:B, file index \([^)]+\) in sink local: zstd could not decode it/],
      create: [1, /RB014: backup ID:B, file index \([^)]+\) in sink local: zstd could not decode it/],
      prune: [0],
      delete: [0],
    },
  },
  {
    name: 'file index of bad JSON lines (checksum resealed)',
    target: 'B',
    damage: (repo) =>
      resealObject(
        repo.repository,
        repo.ids.B,
        'index',
        Buffer.from(`{"format":"rast-backup/index","version":1,"backupId":"${repo.ids.B}","entries":2}\n{"path":".","type":"directory"\n`),
      ),
    listed: ['A', 'B', 'C'],
    expect: {
      list: [0],
      info: [0],
      verify: [1, /damaged: backup ID:B, file index: .*JSON/],
      verifyAll: [1, /damaged: backup ID:B, file index: .*JSON/],
      restore: [1, /RB014: backup ID:B, file index: .*JSON/],
      create: [1, /RB014: backup ID:B, file index: .*JSON/],
      prune: [0],
      delete: [0],
    },
  },
  {
    name: 'part whose content is not zstd (checksum resealed)',
    target: 'A',
    damage: (repo) => resealObject(repo.repository, repo.ids.A, 1, Buffer.alloc(4096, 7), { raw: true }),
    listed: ['A', 'B', 'C'],
    expect: {
      list: [0],
      info: [0],
      verify: [1, /damaged: backup ID:A, part 2 of 3 \([^)]+\) in sink local: zstd could not decode it/],
      verifyAll: [1, /damaged: backup ID:A, part 2 of 3 \([^)]+\) in sink local: zstd could not decode it/],
      restore: [1, /RB014: backup ID:A, part 2 of 3 \([^)]+\) in sink local: zstd could not decode it/],
      create: [0],
      prune: [0],
      delete: [1, /RB012: backup ID:A is the parent of ID:B/],
    },
  },
  {
    name: 'unknown files in the repository',
    target: 'A',
    damage: async (repo) => {
      const put = async (relative: string, text: string) => {
        await mkdir(path.dirname(path.join(repo.repository, relative)), { recursive: true });
        await writeFile(path.join(repo.repository, relative), text);
      };
      await put('README.txt', 'hello\n');
      await put('backups/notes.txt', 'not a manifest\n');
      await put('backups/sub/x.json', '{}');
      await put(`data/${repo.ids.A}/extra.bin`, 'extra\n');
      await put('data/lost+found/x', 'x\n');
      await put('data/stray-file', 'x\n');
    },
    listed: ['A', 'B', 'C'],
    expect: {
      list: [0],
      info: [0],
      verify: [0],
      verifyAll: [0],
      restore: [0],
      create: [0],
      prune: [0],
      delete: [1, /RB012: backup ID:A is the parent of ID:B/],
    },
  },
];

async function copyRepository(number: number): Promise<Repo & { config: string }> {
  const { home: templateHome, repository: original, ids } = await template;
  const home = path.join(templateHome, `case-${number}`);
  const repository = path.join(home, 'repository');
  await cp(original, repository, { recursive: true });
  const config = await writeConfig(home, configText(repository));
  const part = (name: Name, seq: number) => path.join(repository, RepositoryKeys.part(ids[name], seq));
  return { home, repository, ids, part, config };
}

function check(result: Result, [status, pattern]: Expect, label: string, ids: Record<Name, string>): void {
  assertNoCrash(result, label);
  assert.is(result.status, status, `${label}: exit ${result.status}, expected ${status}:\n${result.stderr}`);
  const lines = stderrLines(result);
  const unexpected = lines.filter((line) => !/^rast-backup: (warning|damaged|hint): |^rast-backup: \d+ backups checked /.test(line));
  if (status === 0) assert.equal(unexpected, [], `${label}: unexpected stderr:\n${result.stderr}`);
  else if (unexpected.length > 0 || !lines.some((line) => line.startsWith('rast-backup: damaged: '))) {
    // One expected error, unless verify reported the damage as `damaged:` lines.
    assert.is(unexpected.length, 1, `${label}: expected one error line:\n${result.stderr}`);
    assert.match(unexpected[0]!, /^rast-backup: error RB\d{3}: /, `${label}: not an expected error: ${unexpected[0]}`);
  }
  if (pattern) {
    const resolved = new RegExp(
      pattern.source.replace(/ID:([ABC])/g, (_, name: Name) => ids[name]),
      pattern.flags,
    );
    assert.match(
      result.stderr + result.stdout,
      resolved,
      `${label}: output does not match ${resolved}:\n${result.stderr}${result.stdout.slice(0, 2000)}`,
    );
  }
}

async function runCase(damage: DamageCase): Promise<string[]> {
  const repo = await copyRepository(CASES.indexOf(damage));
  await damage.damage(repo);
  const failures: string[] = [];
  const id = repo.ids[damage.target];
  const env = { RAST_BACKUP_STATE_DIR: path.join(repo.home, 'state') };
  const run = (args: string[]) => cliAsync([...args, '--config', repo.config], { env, timeoutMs: 30_000 });
  const attempt = (fn: () => void) => {
    try {
      fn();
    } catch (error) {
      failures.push(`${damage.name}: ${(error as Error).message}`);
    }
  };
  const commands: Array<[Command, string[]]> = [
    ['list', ['list', '--json']],
    ['info', ['info', id]],
    ['verify', ['verify', id]],
    ['verifyAll', ['verify', '--all']],
    ['restore', ['restore', id, path.join(repo.home, 'restored')]],
  ];
  for (const [command, args] of commands) {
    const result = await run(args);
    attempt(() => check(result, damage.expect[command], `${damage.name}: ${args.join(' ')}`, repo.ids));
    if (command === 'list' && result.status === 0) {
      const listed = (JSON.parse(result.stdout) as Array<{ id: string; status: string }>).map(
        (summary) => `${summary.id} ${summary.status}`,
      );
      const expected = [
        ...damage.listed.map((name) => `${repo.ids[name]} complete`),
        ...(damage.damaged ?? []).map((name) => `${repo.ids[name]} damaged`),
      ];
      attempt(() => assert.equal(listed, expected, `${damage.name}: list shows ${listed.join(', ')}`));
    }
  }
  for (const [number, [args, expect]] of (damage.extra ?? []).entries()) {
    const resolved = args.map((arg) =>
      arg === 'DEST' ? path.join(repo.home, `extra-${number}`) : arg.replace(/^ID:([ABC])$/, (_, name: Name) => repo.ids[name]),
    );
    const result = await run(resolved);
    attempt(() => check(result, expect, `${damage.name}: ${resolved.join(' ')}`, repo.ids));
  }
  // The intact backup still verifies and restores.
  const control = await run(['verify', repo.ids.C]);
  attempt(() => check(control, [0, /intact/], `${damage.name}: verify of the intact backup`, repo.ids));
  const controlDestination = path.join(repo.home, 'control');
  const controlRestore = await run(['restore', repo.ids.C, controlDestination]);
  attempt(() => check(controlRestore, [0], `${damage.name}: restore of the intact backup`, repo.ids));
  if (controlRestore.status === 0) attempt(() => assert.is(readFileSync(path.join(controlDestination, 'c.txt'), 'utf8'), 'control\n'));

  const { home: templateHome } = await template;
  const created = await run(['create', path.join(templateHome, 'src1'), '--parent', 'latest']);
  attempt(() => check(created, damage.expect.create, `${damage.name}: create --parent latest`, repo.ids));
  const pruned = await run(['prune']);
  attempt(() => check(pruned, damage.expect.prune, `${damage.name}: prune`, repo.ids));
  const deleted = await run(['delete', id]);
  attempt(() => check(deleted, damage.expect.delete, `${damage.name}: delete`, repo.ids));
  if (deleted.status === 0) {
    // Nothing of it is left: not listed, not warned about, not even as a leftover.
    const after = await run(['list', '--all', '--json']);
    attempt(() => {
      assert.is(after.status, 0, after.stderr);
      const ids = (JSON.parse(after.stdout) as Array<{ id: string }>).map((entry) => entry.id);
      assert.not.ok(
        ids.includes(id) || after.stderr.includes(id),
        `${damage.name}: after delete, list --all still names ${id}:\n${after.stderr}${ids.join(', ')}`,
      );
    });
  }
  return failures;
}

testNeeding(
  test,
  hasZstd,
  'the zstd command',
  'each kind of damage: every command fails cleanly naming the backup and the damage, and the intact backup still verifies and restores',
  async () => {
    await template;
    const failures = (await mapLimited(CASES, 2, runCase)).flat();
    assert.equal(failures, [], `${failures.length} failures:\n${failures.join('\n\n')}`);
  },
);

test('a loop of parents: create --parent naming it is refused, prune clears it once a newer full backup exists', async () => {
  const repo = await copyRepository(100);
  const manifest = await readManifest(repo.repository, repo.ids.A);
  manifest.parent = repo.ids.B;
  await writeManifest(repo.repository, manifest);
  const { home: templateHome } = await template;
  const src1 = path.join(templateHome, 'src1');
  const env = { RAST_BACKUP_STATE_DIR: path.join(repo.home, 'state') };
  const explicit = await cliAsync(['create', src1, '--parent', repo.ids.B, '--config', repo.config], { env, timeoutMs: 30_000 });
  check(
    explicit,
    [1, new RegExp(`RB022: --parent ${repo.ids.B}: backup ${repo.ids.B}: its chain of parents loops at ${repo.ids.B}: make a full backup`)],
    'create --parent <loop>',
    repo.ids,
  );
  assert.is((await cliAsync(['create', src1, '--config', repo.config], { env })).status, 0);
  const config = await writeConfig(
    repo.home,
    `[storage]\nlocal.path = ${JSON.stringify(repo.repository)}\n\n[retention]\nlast = 1\n`,
    'last1.toml',
  );
  const pruned = await cliAsync(['prune', '--json', '--config', config], { env, timeoutMs: 30_000 });
  check(pruned, [0, /in a loop of parents/], 'prune', repo.ids);
  assert.equal(new Set(JSON.parse(pruned.stdout).removed), new Set([repo.ids.A, repo.ids.B]));
});

test.run();
