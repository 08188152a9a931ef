// Data set (f) of the `files` group: N files of 1–8 KiB of random bytes, 30 per directory, three levels of
// directories (a<i>/b<j>/c<k>), and its "1% change": append 512 bytes to 1% of the files, delete 0.1%, add 0.1%.
// Written by many concurrent writes (no compiler, no per-file process); deterministic for a given N and seed.
//   node bench/lib/manyfiles.mjs build <dir> <N>
//   node bench/lib/manyfiles.mjs change <dir> <N> <seed>
import { randomFillSync } from 'node:crypto';
import { mkdir, open, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const PER_DIRECTORY = 30;
const CONCURRENCY = 64;
const POOL = 64 * 2 ** 20; // random bytes the files are cut from, at random offsets

/** A small seeded PRNG (mulberry32): the same N and seed give the same tree and the same change. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Directories per level, so that fan³ leaf directories hold N files 30 at a time. */
const fanOut = (count) => Math.max(1, Math.ceil(Math.cbrt(Math.ceil(count / PER_DIRECTORY))));
/** The directory of file `i`, relative to the tree's root. */
export function directoryOf(i, count) {
  const fan = fanOut(count);
  const leaf = Math.floor(i / PER_DIRECTORY);
  const width = String(fan - 1).length;
  const n = (value) => String(value).padStart(width, '0');
  return `a${n(Math.floor(leaf / fan / fan))}/b${n(Math.floor(leaf / fan) % fan)}/c${n(leaf % fan)}`;
}
/** The path of file `i`, relative to the tree's root. */
export const fileOf = (i, count) => `${directoryOf(i, count)}/f${String(i).padStart(7, '0')}`;

async function runAll(count, task) {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) await task(i);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

function pool(seed) {
  const bytes = Buffer.allocUnsafe(POOL);
  randomFillSync(bytes);
  const next = random(seed);
  return (size) => {
    const start = Math.floor(next() * (POOL - size));
    return bytes.subarray(start, start + size);
  };
}

/** Writes the N files under `root` (which must exist). */
export async function build(root, count) {
  const directories = new Set();
  for (let i = 0; i < count; i += PER_DIRECTORY) directories.add(directoryOf(i, count));
  const list = [...directories];
  await runAll(list.length, (i) => mkdir(path.join(root, list[i]), { recursive: true }));
  const cut = pool(8);
  const size = random(9);
  const sizes = Array.from({ length: count }, () => 1024 + Math.floor(size() * 7169));
  await runAll(count, (i) => writeFile(path.join(root, fileOf(i, count)), cut(sizes[i])));
}

/** The 1% change number `seed` (1, 2, …): appends to 1% of the files, deletes 0.1%, adds 0.1% new ones. */
export async function change(root, count, seed) {
  const next = random(1000 + seed);
  const pick = (n) => Array.from({ length: Math.max(1, Math.floor(count * n)) }, () => Math.floor(next() * count));
  const cut = pool(100 + seed);
  const appended = pick(0.01);
  const deleted = pick(0.001);
  const added = pick(0.001);
  await runAll(appended.length, async (k) => {
    let handle;
    try {
      handle = await open(path.join(root, fileOf(appended[k], count)), 'r+');
    } catch (error) {
      if (error.code === 'ENOENT') return; // deleted by an earlier change
      throw error;
    }
    try {
      const { size } = await handle.stat();
      await handle.write(cut(512), 0, 512, size);
    } finally {
      await handle.close();
    }
  });
  await runAll(deleted.length, (k) => rm(path.join(root, fileOf(deleted[k], count)), { force: true }));
  await runAll(added.length, (k) =>
    writeFile(path.join(root, directoryOf(added[k], count), `n${seed}-${k}`), cut(1024 + Math.floor(next() * 7169))),
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [command, root, count, seed] = process.argv.slice(2);
  const usage = 'usage: node bench/lib/manyfiles.mjs build DIR N | change DIR N SEED';
  if (!root || !Number.isInteger(Number(count)) || Number(count) < 1 || !['build', 'change'].includes(command)) {
    console.error(usage);
    process.exit(2);
  }
  await (command === 'build' ? build(root, Number(count)) : change(root, Number(count), Number(seed)));
}
