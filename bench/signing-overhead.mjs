#!/usr/bin/env node
// What signing manifests adds to a create: paired full creates of one encrypted tree, signing on and off
// ([signing] enabled = false), alternating which goes first, each into an empty repository; prints the medians.
// Usage: node bench/signing-overhead.mjs [MiB (default 256)] [rounds (default 7)]
import { execFileSync } from 'node:child_process';
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
const run = (args, env = {}) => execFileSync(binary, args, { env: { ...process.env, RAST_BACKUP_CONFIG: '', ...env }, stdio: 'pipe' });
run(['generate-key', '--output', path.join(home, 'encryption.key')]);

function create(signing) {
  const repository = mkdtempSync(path.join(home, 'repository-'));
  const config = path.join(home, `config-${signing}.toml`);
  const table = signing ? '' : '\n[signing]\nenabled = false\n';
  writeFileSync(
    config,
    `[storage]\nlocal.path = ${JSON.stringify(repository)}\n[encryption]\nkey_path = ${JSON.stringify(path.join(home, 'encryption.key'))}\n${table}`,
  );
  const state = mkdtempSync(path.join(home, 'state-'));
  const started = performance.now();
  run(['create', source, '--config', config], { RAST_BACKUP_STATE_DIR: state });
  const seconds = (performance.now() - started) / 1000;
  rmSync(repository, { recursive: true });
  rmSync(state, { recursive: true });
  return seconds;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const on = [];
const off = [];
create(true); // warm the page cache and the binary
for (let round = 0; round < rounds; round++) {
  if (round % 2 === 0) (on.push(create(true)), off.push(create(false)));
  else (off.push(create(false)), on.push(create(true)));
}
const ratios = on.map((seconds, index) => seconds / off[index]);
console.log(`source: ${mebibytes} MiB, ${rounds} paired rounds`);
console.log(`signing on:  median ${median(on).toFixed(3)} s  (${on.map((s) => s.toFixed(2)).join(' ')})`);
console.log(`signing off: median ${median(off).toFixed(3)} s  (${off.map((s) => s.toFixed(2)).join(' ')})`);
console.log(
  `on / off: median of the paired ratios ${median(ratios).toFixed(4)}, ratio of the medians ${(median(on) / median(off)).toFixed(4)}`,
);
rmSync(home, { recursive: true });
