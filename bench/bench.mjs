#!/usr/bin/env node
// rast-backup benchmark: builds data sets on a loop-mounted btrfs and times rast-backup next to its peers,
// paired in rounds (each round runs every command once, in the same order), reporting medians and ratios.
// Needs root, btrfs-progs, zstd, GNU time. Usage: sudo node bench/bench.mjs [--rounds 3] [--size-mib 2048] [--small-files 100000]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync, rmSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir, cpus, totalmem } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? Number(args[index + 1]) : fallback;
};
const ROUNDS = option('rounds', 3);
const SIZE_MIB = option('size-mib', 2048);
const SMALL_FILES = option('small-files', 100000);
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(repo, 'node_modules', '.bin', 'rast-backup');

const sh = (command) => execFileSync('bash', ['-c', command], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
/** Runs a shell command under GNU time; returns wall seconds and peak RSS (MiB) of the largest process. */
function timed(command) {
  sh('sync; echo 3 > /proc/sys/vm/drop_caches || true');
  const result = spawnSync('/usr/bin/time', ['-f', '%e %M', 'bash', '-c', command], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command}\n${result.stderr}`);
  const [seconds, kib] = result.stderr.trim().split('\n').at(-1).split(' ').map(Number);
  return { seconds, rss: kib / 1024 };
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const work = mkdtempSync(path.join(tmpdir(), 'rast-bench-'));
const mnt = path.join(work, 'mnt');
mkdirSync(mnt);
const cleanup = () => {
  spawnSync('umount', ['-l', mnt]);
  rmSync(work, { recursive: true, force: true });
};
process.on('exit', cleanup);
const imageMib = Math.max(4096, SIZE_MIB * 4 + 2048);
sh(`truncate -s ${imageMib}M ${work}/fs.img && mkfs.btrfs -q -f ${work}/fs.img && mount -o loop ${work}/fs.img ${mnt}`);
sh(`btrfs subvolume create ${mnt}/mixed >/dev/null && btrfs subvolume create ${mnt}/small >/dev/null`);

console.error(`building data set (a): ${SIZE_MIB} MiB in ~2,000 files, half random, half text-like`);
const files = 2000;
const perFile = Math.floor((SIZE_MIB * 1048576) / files);
sh(`python3 - <<'EOF'
import os, random
random.seed(7)
words = [''.join(random.choice('abcdefghijklmnopqrstuvwxyz') for _ in range(random.randint(2, 9))) for _ in range(5000)]
text = ' '.join(random.choice(words) for _ in range(400000)).encode()
for i in range(${files}):
    d = '${mnt}/mixed/d%02d' % (i % 50)
    os.makedirs(d, exist_ok=True)
    with open('%s/f%04d' % (d, i), 'wb') as f:
        if i % 2: f.write(os.urandom(${perFile}))
        else:
            start = random.randrange(0, len(text) - ${perFile}) if len(text) > ${perFile} else 0
            f.write((text * (1 + ${perFile} // len(text)))[start:start + ${perFile}])
EOF`);
console.error(`building data set (b): ${SMALL_FILES} files of 1-8 KiB`);
sh(`python3 - <<'EOF'
import os, random
random.seed(8)
for i in range(${SMALL_FILES}):
    d = '${mnt}/small/d%03d' % (i % 1000)
    if i < 1000: os.makedirs(d, exist_ok=True)
    with open('%s/f%06d' % (d, i), 'wb') as f: f.write(os.urandom(random.randint(1024, 8192)))
EOF`);
sh('sync');

const config = (name, extra = '') => {
  const file = path.join(work, `${name}.toml`);
  writeFileSync(file, `[storage]\nlocal.path = "${work}/repo-${name}"\n${extra}`);
  return file;
};
const btrfsConfig = config('btrfs');
const plainConfig = config('plain', '[btrfs]\nenabled = false\n');
const results = new Map();
const record = (name, value) => results.set(name, [...(results.get(name) ?? []), value]);
const peerFile = path.join(work, 'peer.stream');
const snap = (name) => path.join(mnt, `.bench-${name}`);

for (let round = 1; round <= ROUNDS; round++) {
  console.error(`round ${round} of ${ROUNDS}`);
  sh(`rm -rf ${work}/repo-* ${mnt}/restored* ${peerFile}; for s in ${mnt}/.bench-*; do [ -e "$s" ] && btrfs subvolume delete "$s" >/dev/null; done; true`);
  sh(`btrfs subvolume snapshot -r ${mnt}/mixed ${snap('mixed')} >/dev/null`);
  record('btrfs send > /dev/null (ceiling)', timed(`btrfs send -q ${snap('mixed')} > /dev/null`));
  record('btrfs send | zstd -3 -T0 > file', timed(`btrfs send -q ${snap('mixed')} | zstd -3 -T0 -q > ${peerFile}`));
  record('rast-backup create (btrfs, full)', timed(`${BIN} create ${mnt}/mixed --config ${btrfsConfig} > /dev/null`));
  record('zstd -d < file | btrfs receive', timed(`mkdir ${mnt}/restored-peer && zstd -d -q < ${peerFile} | btrfs receive -q ${mnt}/restored-peer`));
  record('rast-backup restore (btrfs receive)', timed(`${BIN} restore latest ${mnt}/restored-rast --config ${btrfsConfig} > /dev/null`));
  record('tar -c | zstd -3 -T0 > file (directory)', timed(`tar -C ${snap('mixed')} -cf - . | zstd -3 -T0 -q > ${peerFile}`));
  record('rast-backup create (directory, tar)', timed(`${BIN} create ${snap('mixed')} --config ${plainConfig} > /dev/null`));
  record('rast-backup restore (directory, tar)', timed(`${BIN} restore latest ${work}/restored-tar --config ${plainConfig} > /dev/null`));
  sh(`rm -rf ${work}/restored-tar; for s in ${mnt}/restored-peer/.bench-* ${mnt}/restored*; do btrfs subvolume delete "$s" >/dev/null 2>&1 || rm -rf "$s"; done; true`);

  // Incremental after changing 1% of the small files (512 bytes in 1,000 files).
  sh(`${BIN} create ${mnt}/small --config ${btrfsConfig} > /dev/null && btrfs subvolume snapshot -r ${mnt}/small ${snap('small1')} >/dev/null`);
  sh(`python3 -c "
import random
random.seed(${round})
for i in random.sample(range(${SMALL_FILES}), ${Math.floor(SMALL_FILES / 100)}):
    with open('${mnt}/small/d%03d/f%06d' % (i % 1000, i), 'r+b') as f: f.seek(0); f.write(bytes(random.getrandbits(8) for _ in range(512)))
"`);
  sh(`btrfs subvolume snapshot -r ${mnt}/small ${snap('small2')} >/dev/null`);
  record('btrfs send -p | zstd -3 -T0 > file (1% change)', timed(`btrfs send -q -p ${snap('small1')} ${snap('small2')} | zstd -3 -T0 -q > ${peerFile}`));
  record('rast-backup create --parent latest (1% change)', timed(`${BIN} create ${mnt}/small --parent latest --config ${btrfsConfig} > /dev/null`));
}

const base = (name) => median(results.get(name).map((r) => r.seconds));
const mb = (SIZE_MIB * 1048576) / 1e6;
const rows = [...results].map(([name, runs]) => {
  const seconds = median(runs.map((r) => r.seconds));
  const rss = median(runs.map((r) => r.rss));
  const throughput = name.includes('1% change') ? '' : `${(mb / seconds).toFixed(0)}`;
  return { name, seconds, rss, throughput };
});
const ratio = (a, b) => (base(a) / base(b)).toFixed(2);
const cpu = cpus()[0]?.model ?? 'unknown';
let out = `Machine: ${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim()}; data set (a) ${SIZE_MIB} MiB in ${files} files, (b) ${SMALL_FILES} small files; medians of ${ROUNDS} paired rounds, caches dropped before each command.\n\n`;
out += '| command | wall s | MB/s | peak RSS MiB |\n|---|---|---|---|\n';
for (const row of rows) out += `| ${row.name} | ${row.seconds.toFixed(2)} | ${row.throughput} | ${row.rss.toFixed(0)} |\n`;
out += `\nRatios (wall time, lower is better for rast-backup):\n`;
out += `- create (btrfs, full) / btrfs send | zstd -3 -T0: ${ratio('rast-backup create (btrfs, full)', 'btrfs send | zstd -3 -T0 > file')}\n`;
out += `- create (directory, tar) / tar | zstd -3 -T0: ${ratio('rast-backup create (directory, tar)', 'tar -c | zstd -3 -T0 > file (directory)')}\n`;
out += `- restore (btrfs) / zstd -d | btrfs receive: ${ratio('rast-backup restore (btrfs receive)', 'zstd -d < file | btrfs receive')}\n`;
out += `- incremental create / btrfs send -p | zstd: ${ratio('rast-backup create --parent latest (1% change)', 'btrfs send -p | zstd -3 -T0 > file (1% change)')}\n`;
console.log(out);
