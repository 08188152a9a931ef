#!/usr/bin/env node
// `list` of many backups, local and on S3 (the project's loopback Swift), first (no manifest cache in the state
// directory) and warm, this tree's rast-backup paired with a peer binary (--peer, e.g. an older build), rounds
// alternating which runs first. Prints one line per run and the medians; also the state directory's disk use.
//   node bench/list-scale.mjs [--backups 10000] [--rounds 3] [--peer /path/to/rast-backup.js] [--no-s3] [--work DIR]
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { writeManifests } from './lib/manifests.mjs';
import { startS3 } from './lib/s3.mjs';
import { cleanupNow, sh } from './lib/workspace.mjs';

const { values } = parseArgs({
  options: {
    backups: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '3' },
    peer: { type: 'string' },
    'no-s3': { type: 'boolean', default: false },
    work: { type: 'string', default: '/var/tmp/lab/cache3-list' },
  },
});
const count = Number(values.backups);
const work = values.work;
const ours = path.resolve(import.meta.dirname, '..', 'cli', 'bin', 'rast-backup.js');
const tools = { ours, ...(values.peer ? { peer: values.peer } : {}) };
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
process.on('exit', cleanupNow);
process.on('SIGINT', () => process.exit(130));

const repository = path.join(work, 'repo');
const configs = {};
configs.local = path.join(work, 'local.toml');
writeFileSync(configs.local, `[storage]\nlocal.path = "${repository}"\n[btrfs]\nenabled = false\n`);
mkdirSync(path.join(work, 'source'));
writeFileSync(path.join(work, 'source', 'file'), 'list\n');
sh(`node ${ours} create ${path.join(work, 'source')} --config ${configs.local} >/dev/null`);
writeManifests(repository, count);
let s3;
if (!values['no-s3']) {
  s3 = await startS3(work);
  s3.createBucket('list');
  const started = performance.now();
  await s3.upload(repository, 'list', 'list');
  console.error(`uploaded ${count} manifests in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  configs.S3 = path.join(work, 's3.toml');
  writeFileSync(
    configs.S3,
    `[s3]\nbucket = "list"\nprefix = "list"\nendpoint = "${s3.endpoint}"\naccess_key_id = "${s3.credentials.accessKeyId}"\nsecret_access_key = "${s3.credentials.secretAccessKey}"\n[btrfs]\nenabled = false\n`,
  );
}

/** Runs `list`; returns wall seconds and peak RSS (MiB). */
function list(bin, config, state) {
  const run = spawnSync('/usr/bin/time', ['-f', '%e %M', 'node', bin, 'list', '--config', config], {
    env: { ...process.env, RAST_BACKUP_STATE_DIR: state },
    encoding: 'utf8',
    maxBuffer: 256 * 2 ** 20,
  });
  if (run.status !== 0) throw new Error(`list failed: ${run.stderr.split('\n').slice(-3).join(' | ')}`);
  const lines = run.stdout.trim().split('\n').length;
  if (lines < count) throw new Error(`list showed ${lines} lines, not ${count} backups`);
  const [seconds, kib] = run.stderr.trim().split('\n').at(-1).split(' ').map(Number);
  return { seconds, mib: kib / 1024 };
}

const results = {};
const load = [];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (let round = 0; round < Number(values.rounds); round++) {
  for (const where of Object.keys(configs)) {
    const order = Object.keys(tools);
    if (round % 2) order.reverse();
    for (const tool of order) {
      const state = path.join(work, `state-${tool}`);
      rmSync(state, { recursive: true, force: true });
      load.push(Number(sh('cut -d" " -f1 /proc/loadavg')));
      const first = list(tools[tool], configs[where], state);
      const disk = sh(`du -s --block-size=1 ${state}/manifests | cut -f1; find ${state}/manifests -type f | wc -l`)
        .trim()
        .split('\n')
        .map(Number);
      const warm = list(tools[tool], configs[where], state);
      for (const [kind, value] of Object.entries({ first, warm })) {
        const key = `${where} ${kind} ${tool}`;
        (results[key] ??= []).push(value);
        console.log(`round ${round + 1}: ${key}: ${value.seconds.toFixed(2)} s, ${value.mib.toFixed(0)} MiB`);
      }
      console.log(`round ${round + 1}: ${where} ${tool}: cache ${(disk[0] / 2 ** 20).toFixed(1)} MiB on disk in ${disk[1]} files`);
    }
  }
}
console.log(`\nmedians (${count} backups, ${values.rounds} rounds, load average 1 min median ${median(load)}):`);
for (const [key, runs] of Object.entries(results))
  console.log(`${key}: ${median(runs.map((r) => r.seconds)).toFixed(2)} s, ${median(runs.map((r) => r.mib)).toFixed(0)} MiB`);
if (s3) await s3.stop();
