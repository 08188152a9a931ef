#!/usr/bin/env node
// The walk alone: readdir and lstat of every entry below DIR, as the directory source's incremental does, no more.
// node bench/cold-walk.mjs serial DIR       one thread, synchronous calls, depth first (what its reader thread does)
// node bench/cold-walk.mjs threads N DIR    the top-level directories shared out to N worker threads, each serial
// node bench/cold-walk.mjs pool N DIR       N directories at once through the thread pool, each one's lstats all in
//                                           flight (set UV_THREADPOOL_SIZE to N or more)
// Prints the mode, the entries and the wall seconds. Drop the page cache before it for a cold walk.
import { lstatSync, readdirSync } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

function walkSerial(directories) {
  let entries = 0;
  const stack = [...directories];
  while (stack.length > 0) {
    const directory = stack.pop();
    for (const name of readdirSync(directory)) {
      const path = `${directory}/${name}`;
      entries++;
      if (lstatSync(path, { bigint: true }).isDirectory()) stack.push(path);
    }
  }
  return entries;
}

async function walkPool(root, inFlight) {
  let entries = 0;
  const queue = [root];
  let active = 0;
  await new Promise((resolve, reject) => {
    const next = () => {
      if (active === 0 && queue.length === 0) return resolve();
      while (active < inFlight && queue.length > 0) {
        const directory = queue.pop();
        active++;
        readdir(directory)
          .then(async (names) => {
            const paths = names.map((name) => `${directory}/${name}`);
            const stats = await Promise.all(paths.map((path) => lstat(path, { bigint: true })));
            entries += paths.length;
            stats.forEach((stat, at) => stat.isDirectory() && queue.push(paths[at]));
            active--;
            next();
          })
          .catch(reject);
      }
    };
    next();
  });
  return entries;
}

async function walkThreads(root, threads) {
  const tops = readdirSync(root).map((name) => `${root}/${name}`);
  const shares = Array.from({ length: threads }, (_, thread) => tops.filter((_, at) => at % threads === thread));
  const counts = await Promise.all(
    shares.map(
      (share) =>
        new Promise((resolve, reject) =>
          new Worker(new URL(import.meta.url), { workerData: share }).on('message', resolve).on('error', reject),
        ),
    ),
  );
  return counts.reduce((sum, count) => sum + count, tops.length);
}

if (!isMainThread) parentPort.postMessage(walkSerial(workerData));
else {
  const [mode, ...rest] = process.argv.slice(2);
  const start = performance.now();
  let entries;
  if (mode === 'serial' && rest.length === 1) entries = walkSerial([rest[0]]);
  else if (mode === 'threads' && rest.length === 2) entries = await walkThreads(rest[1], Number(rest[0]));
  else if (mode === 'pool' && rest.length === 2) entries = await walkPool(rest[1], Number(rest[0]));
  else {
    console.error('usage: cold-walk.mjs serial DIR | threads N DIR | pool N DIR');
    process.exit(2);
  }
  console.log(`${mode} ${rest.slice(0, -1).join(' ')} ${entries} entries ${((performance.now() - start) / 1000).toFixed(2)} s`);
}
