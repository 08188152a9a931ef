// Per-thread CPU of a process tree over time, sampled from /proc (a few ms of CPU per sample).
// Usage: node bench/thread-cpu.mjs PID [SECONDS] > samples.jsonl
// Each line: {"t": seconds since start, "threads": [[pid, process name, tid, thread name, state, user s, system s], ...],
// "io": [[pid, process name, bytes read from storage, bytes written to storage, bytes read, bytes written], ...]}
// for PID and every descendant, until PID exits (state: R running, S sleeping, D waiting on I/O, ...); also the
// whole machine's "disks": [[device, bytes read, bytes written], ...] (whole disks from /proc/diskstats; a loop
// device's I/O reaches the disk under it) and "load" (/proc/loadavg's first figure), to see what else ran meanwhile. Summarise with bench/thread-timeline.mjs.
import { readFileSync, readdirSync } from 'node:fs';

const [rootArg, everyArg = '1'] = process.argv.slice(2);
const root = Number(rootArg);
if (!Number.isInteger(root) || root <= 0) {
  console.error('usage: node bench/thread-cpu.mjs PID [SECONDS]');
  process.exit(2);
}
const every = Number(everyArg) * 1000;
const tick = 100; // USER_HZ on Linux
const t0 = performance.now();

function stat(path) {
  // "pid (comm) state ppid ..." where comm may hold spaces and parentheses.
  const text = readFileSync(path, 'utf8');
  const close = text.lastIndexOf(')');
  const rest = text.slice(close + 2).split(' ');
  return {
    name: text.slice(text.indexOf('(') + 1, close),
    state: rest[0],
    ppid: Number(rest[1]),
    user: Number(rest[11]) / tick,
    system: Number(rest[12]) / tick,
  };
}

function io(pid) {
  const fields = Object.fromEntries(
    readFileSync(`/proc/${pid}/io`, 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split(': ')),
  );
  return [Number(fields.read_bytes), Number(fields.write_bytes), Number(fields.rchar), Number(fields.wchar)];
}

function tree() {
  const children = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const { ppid } = stat(`/proc/${entry}/stat`);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  const pids = [root];
  for (let i = 0; i < pids.length; i++) pids.push(...(children.get(pids[i]) ?? []));
  return pids;
}

function disks() {
  return readFileSync('/proc/diskstats', 'utf8')
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([, , name]) => /^([sv]d[a-z]+|nvme\d+n\d+)$/.test(name))
    .map(([, , name, , , read, , , , written]) => [name, Number(read) * 512, Number(written) * 512]);
}

function sample() {
  const threads = [];
  const bytes = [];
  for (const pid of tree()) {
    try {
      const process = stat(`/proc/${pid}/stat`).name;
      bytes.push([pid, process, ...io(pid)]);
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        const s = stat(`/proc/${pid}/task/${tid}/stat`);
        threads.push([pid, process, Number(tid), s.name, s.state, s.user, s.system]);
      }
    } catch {
      // gone meanwhile
    }
  }
  return { threads, io: bytes };
}

for (;;) {
  const { threads, io: bytes } = sample();
  if (!threads.some(([pid]) => pid === root)) break;
  const t = Number(((performance.now() - t0) / 1000).toFixed(2));
  const load = Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  process.stdout.write(JSON.stringify({ t, threads, io: bytes, disks: disks(), load }) + '\n');
  await new Promise((resolve) => setTimeout(resolve, every));
}
