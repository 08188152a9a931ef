#!/usr/bin/env node
// What `sync` costs: a backup committed in the local sink only (made with a local-only config) copied into an
// empty S3 bucket (the loopback Swift of the tests) by `rast-backup sync`, against `aws s3 sync` of the same
// repository directory into another empty bucket (its default 10 requests at once), alternating which goes
// first. Prints the medians of the wall time and of sync's peak RSS (/usr/bin/time).
// Usage: node bench/sync.mjs [MiB (default 256)] [rounds (default 5)]
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSwift } from '../plugins/s3/dist/testing/SwiftServer.js';

const mebibytes = Number(process.argv[2] ?? 256);
const rounds = Number(process.argv[3] ?? 5);
const binary = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', '.bin', 'rast-backup');
const home = mkdtempSync(path.join(tmpdir(), 'rast-sync-bench-'));
const swift = await startSwift();
const source = path.join(home, 'source');
mkdirSync(source);
// Half incompressible, half text, in 4 MiB files.
for (let n = 0; n < mebibytes / 4; n++) {
  const data = n % 2 === 0 ? randomBytes(4 << 20) : Buffer.alloc(4 << 20, `line ${n} of a compressible file\n`);
  writeFileSync(path.join(source, `file-${n}`), data);
}
const repository = path.join(home, 'repository');
const state = path.join(home, 'state');
const env = {
  ...process.env,
  RAST_BACKUP_CONFIG: '',
  RAST_BACKUP_STATE_DIR: state,
  AWS_ACCESS_KEY_ID: swift.accessKeyId,
  AWS_SECRET_ACCESS_KEY: swift.secretAccessKey,
  AWS_DEFAULT_REGION: 'us-east-1',
};
const local = `[storage]\nlocal.path = ${JSON.stringify(repository)}\n`;
const s3 = (bucket) =>
  `[s3]\nendpoint = "${swift.endpoint}"\naccess_key_id = "${swift.accessKeyId}"\nsecret_access_key = "${swift.secretAccessKey}"\nbucket = "${bucket}"\nregion = "us-east-1"\nidle_timeout_seconds = 120\n`;

/** Runs a command under /usr/bin/time: wall seconds and peak RSS in MiB. */
function run(command, args) {
  const started = performance.now();
  const result = spawnSync('/usr/bin/time', ['-f', 'rss %M', command, ...args], { env, encoding: 'utf8' });
  const wall = (performance.now() - started) / 1000;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr}`);
  return { wall, rss: Number(/rss (\d+)/.exec(result.stderr)[1]) / 1024 };
}
const aws = (args) => run('aws', ['--endpoint-url', swift.endpoint, 's3', ...args]);

const localOnly = path.join(home, 'local.toml');
writeFileSync(localOnly, local, { mode: 0o600 });
run(binary, ['create', source, '--config', localOnly]);

let bucket = 0;
function rastSync() {
  const name = `rast-${++bucket}`;
  aws(['mb', `s3://${name}`]);
  const config = path.join(home, `${name}.toml`);
  writeFileSync(config, `${local}\n${s3(name)}`, { mode: 0o600 });
  return run(binary, ['sync', '--config', config]);
}
function awsSync() {
  const name = `aws-${++bucket}`;
  aws(['mb', `s3://${name}`]);
  return aws(['sync', '--quiet', repository, `s3://${name}/`]);
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const ours = [];
const peer = [];
for (let round = 0; round < rounds; round++) {
  if (round % 2 === 0) {
    ours.push(rastSync());
    peer.push(awsSync());
  } else {
    peer.push(awsSync());
    ours.push(rastSync());
  }
}
const wall = (runs) => median(runs.map((measured) => measured.wall));
console.log(`${mebibytes} MiB source, ${rounds} rounds, medians:`);
console.log(`rast-backup sync: ${wall(ours).toFixed(2)} s, peak RSS ${median(ours.map((measured) => measured.rss)).toFixed(0)} MiB`);
console.log(`aws s3 sync:      ${wall(peer).toFixed(2)} s, peak RSS ${median(peer.map((measured) => measured.rss)).toFixed(0)} MiB`);
console.log(`ratio (rast / aws): ${(wall(ours) / wall(peer)).toFixed(2)}`);
await swift.stop();
rmSync(home, { recursive: true, force: true });
