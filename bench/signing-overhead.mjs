#!/usr/bin/env node
// What signing manifests adds to a create: paired full creates of one encrypted tree, signing on and off
// ([signing] enabled = false), alternating which goes first, each into an empty repository; prints the medians
// of the wall time and of the CPU time (user + system, from /usr/bin/time: steadier on a loaded machine).
// Usage: node bench/signing-overhead.mjs [MiB (default 256)] [rounds (default 7)]
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const mebibytes = Number(process.argv[2] ?? 256);
const rounds = Number(process.argv[3] ?? 7);
const binary = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', '.bin', 'rast-backup');
const home = mkdtempSync(path.join(tmpdir(), 'rast-signing-bench-'));
const source = path.join(home, 'source');
mkdirSync(source);
// Half incompressible, half text, in 4 MiB files.
for (let n = 0; n < mebibytes / 4; n++) {
  const data = n % 2 === 0 ? randomBytes(4 << 20) : Buffer.alloc(4 << 20, `line ${n} of a compressible file\n`);
  writeFileSync(path.join(source, `file-${n}`), data);
}

/** Runs the CLI under /usr/bin/time: its wall and CPU seconds. */
function run(args, env = {}) {
  const started = performance.now();
  const result = spawnSync('/usr/bin/time', ['-f', 'cpu %U %S', binary, ...args], {
    env: { ...process.env, RAST_BACKUP_CONFIG: '', ...env },
    encoding: 'utf8',
  });
  const wall = (performance.now() - started) / 1000;
  if (result.status !== 0) throw new Error(`rast-backup ${args.join(' ')}: ${result.stderr}`);
  const [, user, system] = /cpu (\S+) (\S+)/.exec(result.stderr);
  return { wall, cpu: Number(user) + Number(system) };
}

run(['generate-key', '--output', path.join(home, 'encryption.key')]);

function create(signing) {
  const repository = mkdtempSync(path.join(home, 'repository-'));
  const config = path.join(home, `config-${signing}.toml`);
  const table = signing ? '' : '\n[signing]\nenabled = false\n';
  const key = JSON.stringify(path.join(home, 'encryption.key'));
  writeFileSync(config, `[storage]\nlocal.path = ${JSON.stringify(repository)}\n[encryption]\nkey_path = ${key}\n${table}`);
  const state = mkdtempSync(path.join(home, 'state-'));
  const measured = run(['create', source, '--config', config], { RAST_BACKUP_STATE_DIR: state });
  rmSync(repository, { recursive: true });
  rmSync(state, { recursive: true });
  return measured;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const on = [];
const off = [];
create(true); // warm the page cache and the binary
for (let round = 0; round < rounds; round++) {
  if (round % 2 === 0) {
    on.push(create(true));
    off.push(create(false));
  } else {
    off.push(create(false));
    on.push(create(true));
  }
}
console.log(`source: ${mebibytes} MiB, ${rounds} paired rounds`);
for (const measure of ['wall', 'cpu']) {
  const a = on.map((run) => run[measure]);
  const b = off.map((run) => run[measure]);
  const ratios = a.map((seconds, index) => seconds / b[index]);
  console.log(
    `${measure}: signing on median ${median(a).toFixed(3)} s, off ${median(b).toFixed(3)} s; on/off: median paired ratio ${median(ratios).toFixed(4)}, ratio of medians ${(median(a) / median(b)).toFixed(4)}`,
  );
}
rmSync(home, { recursive: true });
