// `find` over many backups of many files (issue 19's goal: 1,000 backups of 100,000 files, < 5 s).
// Builds a local repository of BACKUPS backups: a full one whose index lists FILES files, then incrementals each
// changing 1% of them (new size and mtime), through createBackup with the tar format's index replaced by a
// synthetic one (the stream itself is a tiny directory): only the indexes matter to `find`. Then times the CLI.
// Given HOME (a directory an earlier run made), it continues that repository's chain up to BACKUPS backups.
// It prints the rate of each ten creates, so that a cost growing with the chain shows.
//   node bench/find-scale.mjs [BACKUPS] [FILES] [ROUNDS] [HOME]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { comparePaths, createBackup, createRuntime } from '@rast-backup/core';
import directory from '@rast-backup/plugin-directory';
import local from '@rast-backup/plugin-local';

const [BACKUPS, FILES, ROUNDS] = [Number(process.argv[2] ?? 1000), Number(process.argv[3] ?? 100000), Number(process.argv[4] ?? 3)];
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const home = process.argv[5] ? path.resolve(process.argv[5]) : mkdtempSync(path.join(os.tmpdir(), 'rast-find-scale-'));
const config = path.join(home, 'config.toml');
if (!existsSync(config)) writeFileSync(config, `[storage]\nlocal.path = ${JSON.stringify(path.join(home, 'repository'))}\n`);
const source = path.join(home, 'source');
mkdirSync(source, { recursive: true });
writeFileSync(path.join(source, 'x'), 'x\n');
// Its own state (the manifest cache, the kept index copies), not the host's.
process.env.RAST_BACKUP_STATE_DIR ??= path.join(home, 'state');

const fileAt = (i) =>
  `d${String(Math.floor(i / 1000)).padStart(3, '0')}/e${String(Math.floor(i / 10) % 100).padStart(2, '0')}/f${String(i).padStart(7, '0')}`;
const entry = (path, type, backupId, size = 0, mtime = '0') => ({
  path,
  type,
  size,
  mode: type === 'file' ? 0o644 : 0o755,
  uid: 0,
  gid: 0,
  mtime,
  from: backupId,
});
function whole(backupId) {
  const entries = [entry('.', 'directory', backupId)];
  const directories = new Set();
  for (let i = 0; i < FILES; i++) {
    const file = fileAt(i);
    for (let at = file.indexOf('/'); at > 0; at = file.indexOf('/', at + 1)) directories.add(file.slice(0, at));
    entries.push(entry(file, 'file', backupId, 100 + (i % 900), '1'));
  }
  for (const name of directories) entries.push(entry(name, 'directory', backupId));
  return entries.sort((a, b) => comparePaths(a.path, b.path));
}

// mulberry32: exact 32-bit arithmetic (a float LCG loses bits past 2^53 and can fall into a short cycle).
let random = 7;
const next = () => {
  let t = (random = (random + 0x6d2b79f5) | 0);
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
};
let count = 0;
const runtime = await createRuntime({
  configFile: config,
  defaultPresets: [local, directory],
  resolveFrom: [],
  log: { info() {}, warn() {}, error() {} },
});
const tar = runtime.pipeline.hooks.format.get('tar').call();
runtime.pipeline.hooks.format.for('tar').tap({ name: 'find-scale', stage: -100 }, () => ({
  ...tar,
  serialize: (context) => {
    // The tiny stream is serialized as a full one: merged with the parent's synthetic index, it would read all
    // FILES entries of it and spool a removal for each (most of a create's time, none of it find's concern).
    const serialization = tar.serialize({ ...context, parentIndex: undefined });
    return {
      ...serialization,
      index: async () => {
        // The tar format's own index of the tiny stream is not used: close its spool.
        const own = await serialization.index();
        await own.spool?.close();
        if (!context.parentIndex)
          return { format: 'rast-backup/index', version: 1, backupId: context.backupId, entries: whole(context.backupId) };
        const changed = new Set();
        while (changed.size < FILES / 100) changed.add(Math.floor(next() * FILES));
        const changes = [...changed]
          .map((i) => entry(fileAt(i), 'file', context.backupId, Math.floor(next() * 10000), String(count)))
          .sort((a, b) => comparePaths(a.path, b.path));
        return { backupId: context.backupId, changes, entries: context.parentIndex.entries };
      },
    };
  },
}));

// Continuing: BACKUPS counts every backup in the repository; the chain goes on from the latest of this source.
const made = await runtime.repository.catalog.entries();
let parent = made.filter((entry) => entry.head.source.path === source).at(-1)?.head.id;
const started = Date.now();
let tenStarted = started;
for (count = made.length; count < BACKUPS; count++) {
  // The changes of backup `count` do not depend on where an earlier run stopped.
  random = Math.imul(count + 1, 0x9e3779b9);
  parent = (await createBackup(runtime, { path: source, parent })).id;
  if ((count + 1) % 10 === 0 || count + 1 === BACKUPS) {
    const now = Date.now();
    console.log(
      `backup ${count + 1}: ${((now - tenStarted) / Math.min(10, count + 1 - made.length)).toFixed(0)} ms each (load ${os.loadavg()[0].toFixed(1)})`,
    );
    tenStarted = now;
  }
}
console.log(
  `built ${BACKUPS - made.length} backups (${BACKUPS} in all) of ${FILES} files in ${((Date.now() - started) / 1000).toFixed(0)} s: ${home}`,
);

// Each round runs both patterns warm (this host's manifest cache as `find` left it) and cold (an empty state
// directory: every manifest read from the repository again; the page cache is not dropped, the machine is shared).
// /usr/bin/time gives the CPU time (user + sys) and the peak RSS of each run.
const cli = path.join(ROOT, 'cli', 'bin', 'rast-backup.js');
const patterns = [`**/${path.basename(fileAt(12345))}`, `${path.dirname(fileAt(54321))}/*`];
const runs = new Map();
function find(pattern, state) {
  const start = process.hrtime.bigint();
  const result = spawnSync('/usr/bin/time', ['-f', '%U %S %M', 'node', cli, 'find', pattern, '--json', '--config', config], {
    encoding: 'utf8',
    maxBuffer: 2 ** 30,
    env: { ...process.env, RAST_BACKUP_STATE_DIR: state },
  });
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  if (result.status !== 0) throw new Error(result.stderr);
  const [user, system, rss] = result.stderr.trim().split('\n').at(-1).split(' ').map(Number);
  return { wall, cpu: user + system, rss: rss / 1024, matches: JSON.parse(result.stdout).matches.length, load: os.loadavg()[0] };
}
for (let round = 0; round < ROUNDS; round++)
  for (const pattern of patterns) {
    const cold = mkdtempSync(path.join(os.tmpdir(), 'rast-find-cold-'));
    const order = round % 2 === 0 ? ['warm', 'cold'] : ['cold', 'warm'];
    for (const kind of order) {
      const key = `${pattern} ${kind}`;
      runs.set(key, [...(runs.get(key) ?? []), find(pattern, kind === 'cold' ? cold : process.env.RAST_BACKUP_STATE_DIR)]);
    }
    spawnSync('rm', ['-rf', cold]);
  }
const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
for (const [key, measured] of runs) {
  const [wall, cpu, rss] = ['wall', 'cpu', 'rss'].map((field) => median(measured.map((run) => run[field])));
  console.log(
    `find ${key}: ${measured[0].matches} matches over ${made.length > BACKUPS ? made.length : BACKUPS} backups; median of ${measured.length}: ` +
      `${wall.toFixed(2)} s wall (${measured.map((run) => run.wall.toFixed(2)).join(', ')}), ${cpu.toFixed(2)} s CPU, ${rss.toFixed(0)} MiB; ` +
      `load ${measured.map((run) => run.load.toFixed(1)).join(', ')}`,
  );
}
