import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const growth = suite('allocator growth: memory that follows the length of a run is held at its start size');

const MODULE = fileURLToPath(new URL('./AllocatorGrowth.js', import.meta.url));
const POOL = fileURLToPath(new URL('./WorkerPool.js', import.meta.url));
const KOFFI = fileURLToPath(new URL('../package.json', import.meta.url));

/** Runs `body` in a fresh Node process (after `limit` when given) and returns what it prints, as JSON. */
function measure(limit: string | undefined, body: string): Record<string, number> {
  const script = `
    import { createRequire } from 'node:module';
    import v8 from 'node:v8';
    import vm from 'node:vm';
    ${limit ? `(await import(${JSON.stringify(MODULE)})).${limit}();` : ''}
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc');
    const require = createRequire(${JSON.stringify(KOFFI)});
    ${body}`;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })) as Record<string, number>;
}

// Objects that survive scavenges, as a stream's index does while its entries are collected.
const SURVIVORS = `
  const newSpace = () => v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space').space_size;
  const start = newSpace();
  let largest = start;
  const kept = [];
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 20000; i++) kept.push({ path: 'd/f' + i, size: i, blocks: [i] });
    if (kept.length > 100000) kept.splice(0, 20000);
    largest = Math.max(largest, newSpace());
  }
  console.log(JSON.stringify({ start, largest }));
  process.exit(0);`;
// The part workers started first: starting a thread sets V8's flags back to their defaults.
const WORKERS_FIRST = `
  const { workerPool, releaseThreadMemory } = await import(${JSON.stringify(POOL)});
  workerPool();
  await releaseThreadMemory();`;

growth(
  'the young generation stays within twice its first size while many objects survive scavenges; without the limit it grows to 8× or more',
  () => {
    const unlimited = measure(undefined, SURVIVORS);
    assert.ok(unlimited.largest! >= 8 * unlimited.start!, `without the limit: ${unlimited.start} → ${unlimited.largest} bytes`);
    const limited = measure('limitYoungGeneration', SURVIVORS);
    // V8 still doubles it once, from its first size.
    assert.ok(limited.largest! <= 2 * limited.start!, `${limited.start} → ${limited.largest} bytes`);
  },
);

growth('the limit holds after the part workers start', () => {
  const limited = measure('limitYoungGeneration', WORKERS_FIRST + SURVIVORS);
  assert.ok(limited.largest! <= 2 * limited.start!, `${limited.start} → ${limited.largest} bytes`);
});

// A large block mapped and freed, then blocks of 1 MiB, half of them kept: glibc's arenas hold the holes, unless the
// blocks are mapped apart (mallinfo2's `arena`: bytes of the arenas' heaps; `hblkhd`: bytes in mappings of their own).
const HOLES = `
  const koffi = require('koffi');
  const info = koffi.struct('mallinfo2_t', Object.fromEntries(['arena', 'ordblks', 'smblks', 'hblks', 'hblkhd', 'usmblks',
    'fsmblks', 'uordblks', 'fordblks', 'keepcost'].map((name) => [name, 'size_t'])));
  const mallinfo2 = koffi.load('libc.so.6').func('mallinfo2_t mallinfo2()');
  let large = Buffer.allocUnsafeSlow(24 << 20);
  large = undefined;
  gc();
  const before = Number(mallinfo2().arena);
  let blocks = Array.from({ length: 64 }, () => Buffer.allocUnsafeSlow(1 << 20));
  blocks = blocks.filter((_, i) => i % 2 === 0);
  gc();
  console.log(JSON.stringify({ grown: Number(mallinfo2().arena) - before, kept: blocks.length }));`;

growth('blocks of 1 MiB freed after a large one leave no holes in the arenas, where they do without the fixed threshold', () => {
  const unlimited = measure(undefined, HOLES);
  assert.ok(unlimited.grown! >= 32 << 20, `without the threshold the arenas grew by ${unlimited.grown} bytes`);
  const limited = measure('fixMmapThreshold', HOLES);
  assert.ok(limited.grown! < 4 << 20, `the arenas grew by ${limited.grown} bytes`);
});

growth.run();
