// Runs one shell command and measures it: wall time, CPU time (user + sys of it and its children, GNU time's
// %U %S: what to compare on a loaded machine), peak RSS of its largest process (GNU time's %M) and
// peak RSS of its whole process tree (sum over the tree, polled from /proc every 50 ms).
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { once } from 'node:events';

const PAGE = 4096;
let current; // the running child, killed on Ctrl-C

/** Resident bytes of a process and all its descendants (0 for what has exited meanwhile). */
function treeResident(pid) {
  let total = 0;
  try {
    total += Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * PAGE;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      for (const child of children ? children.split(' ') : []) total += treeResident(child);
    }
  } catch {
    // exited while we looked
  }
  return total;
}

/**
 * Runs `command` with bash (pipefail) and returns { seconds, cpuSeconds, rssMiB, treeMiB, stdout, stderr }.
 * Throws an Error with the command's last stderr lines when it exits non-zero.
 */
export async function measure(command, { env = process.env, timeFile } = {}) {
  const started = performance.now();
  const child = spawn('/usr/bin/time', ['-f', '%M %U %S', '-o', timeFile, 'bash', '-o', 'pipefail', '-c', command], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  current = child;
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout = (stdout + chunk).slice(-65536)));
  child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-65536)));
  let tree = 0;
  const poll = setInterval(() => (tree = Math.max(tree, treeResident(child.pid))), 50);
  const [code, signal] = await once(child, 'close');
  clearInterval(poll);
  current = undefined;
  const seconds = (performance.now() - started) / 1000;
  let rssKiB = NaN;
  let cpuSeconds = NaN;
  try {
    const [rss, user, sys] = readFileSync(timeFile, 'utf8').trim().split('\n').at(-1).split(' ').map(Number);
    rssKiB = rss;
    cpuSeconds = user + sys;
    rmSync(timeFile, { force: true });
  } catch {
    // time did not write it: the command was killed
  }
  if (code !== 0) {
    const tail = stderr.trim().split('\n').slice(-4).join(' | ');
    throw new Error(`exit ${code ?? signal}: ${tail || '(no stderr)'}`);
  }
  return { seconds, cpuSeconds, rssMiB: rssKiB / 1024, treeMiB: tree / 2 ** 20, stdout, stderr };
}

/** Kills the running measured command and its process group (for Ctrl-C). */
export function killCurrent() {
  if (current?.pid) {
    try {
      process.kill(-current.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
