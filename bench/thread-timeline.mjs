// Summary of bench/thread-cpu.mjs samples: CPU-seconds per thread over the run and per window, and when each
// process was last seen (for a create: when `btrfs send` ended, and so how long the work after the stream took).
// Usage: node bench/thread-timeline.mjs SAMPLES.jsonl [WINDOW SECONDS]
// Threads are named process/thread; a process's first thread (tid = pid) is its main thread ("main"), the others
// "tN" in order of first appearance. Per window: each busy thread's CPU (user + system) and, for a process in D
// state at some samples, the share of samples in D; the machine's disk traffic (MB/s read and written, every
// process's) and its load average at the window's last sample.
import { readFileSync } from 'node:fs';

const [file, windowArg = '60'] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/thread-timeline.mjs SAMPLES.jsonl [WINDOW SECONDS]');
  process.exit(2);
}
const window = Number(windowArg);
const samples = readFileSync(file, 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line));
const names = new Map();
const order = new Map();
function label(pid, process, tid) {
  const key = `${pid}/${tid}`;
  if (!names.has(key)) {
    const n = order.get(pid) ?? 0;
    order.set(pid, n + 1);
    names.set(key, `${process}${pid === tid ? '' : `/t${n}`}`);
  }
  return names.get(key);
}
const last = new Map(); // thread → cpu at the previous sample
const total = new Map();
const seen = new Map(); // process → [first, last] time
const windows = new Map(); // index → { cpu: Map, d: Map, n: Map, disks, load }
for (const { t, threads, disks = [], load } of samples) {
  const w = Math.floor(t / window);
  if (!windows.has(w)) windows.set(w, { cpu: new Map(), d: new Map(), n: new Map(), first: disks });
  const row = windows.get(w);
  row.disks = disks;
  row.load = load;
  const counted = new Set();
  for (const [pid, process, tid, , state, user, system] of threads) {
    const name = label(pid, process, tid);
    const cpu = user + system;
    const delta = cpu - (last.get(name) ?? 0);
    last.set(name, cpu);
    total.set(name, [user, system]);
    row.cpu.set(name, (row.cpu.get(name) ?? 0) + delta);
    const span = seen.get(process) ?? [t, t];
    seen.set(process, [span[0], t]);
    if (pid === tid && !counted.has(process)) {
      counted.add(process);
      row.n.set(process, (row.n.get(process) ?? 0) + 1);
    }
    if (state === 'D') row.d.set(name, (row.d.get(name) ?? 0) + 1);
  }
}
const end = samples.at(-1).t;
console.log(`${samples.length} samples over ${end.toFixed(1)} s`);
for (const [process, [first, lastSeen]] of seen) console.log(`  ${process}: seen ${first.toFixed(1)}–${lastSeen.toFixed(1)} s`);
console.log('CPU-seconds per thread (user + system), over 0.5 s:');
for (const [name, [user, system]] of [...total].sort((a, b) => b[1][0] + b[1][1] - a[1][0] - a[1][1])) {
  if (user + system >= 0.5) console.log(`  ${name}: ${user.toFixed(2)} u + ${system.toFixed(2)} s`);
}
console.log(`per ${window} s window: CPU-seconds of threads over 0.2 s; D = share of samples a thread waited on I/O`);
const traffic = (first, disks) =>
  disks
    .map(([name, read, written]) => {
      const [, read0, written0] = first.find(([other]) => other === name) ?? [name, read, written];
      return `${name} r ${((read - read0) / window / 1e6).toFixed(0)} w ${((written - written0) / window / 1e6).toFixed(0)} MB/s`;
    })
    .join(', ');
for (const [w, { cpu, d, first, disks, load }] of [...windows].sort((a, b) => a[0] - b[0])) {
  const busy = [...cpu]
    .filter(([, v]) => v >= 0.2)
    .sort((a, b) => b[1] - a[1])
    .map(([n, v]) => `${n} ${v.toFixed(1)}`)
    .join(', ');
  const waits = [...d].map(([n, c]) => `${n} D ${Math.round((100 * c) / window)}%`).join(', ');
  const machine = disks?.length ? ` | ${traffic(first, disks)}, load ${load}` : '';
  console.log(`${String(w * window).padStart(5)} s: ${busy}${waits ? ` | ${waits}` : ''}${machine}`);
}
