import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { IndexSpool } from './IndexSpool.js';
import { writeIndex } from './IndexWriter.js';
import { collectionsMade } from './GarbageBudget.js';
import type { IndexEntry } from './FileIndex.js';

const memory = suite('index writer: memory kept after a run is written from a spool');

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heapUsed = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

memory('the run header holds its blocks first paths, not the spool chunks they were read from', async () => {
  const before = heapUsed();
  const spool = new IndexSpool();
  for (let at = 0; at < 200_000; at++) {
    const path = `a${at % 97}/b/f${String(at).padStart(7, '0')}`;
    await spool.add({ path, type: 'file', size: 1, mode: 0o644, uid: 0, gid: 0, mtime: '1'.repeat(100), from: 'b' });
  }
  let stored = 0;
  const written = await writeIndex('b', { backupId: 'b', spool }, undefined, async (key, plain) => ({
    key,
    size: plain.length,
    storedSize: plain.length,
    sha256: String(stored++),
  }));
  const kept = heapUsed() - before;
  assert.ok(written.header.blocks.length > 50);
  // The spool's chunks (1 MiB each, about 40 MiB here) would stay reachable through sliced first paths.
  assert.ok(kept < 8 * 2 ** 20, `${(kept / 2 ** 20).toFixed(1)} MiB kept`);
});

memory('a run being written collects by budget as its blocks are stored', async () => {
  // A full create's walk makes garbage that outlives the CLI's small young generation: V8 let 40–50 MiB of it pile
  // up in a 1,000,000-file create (docs/benchmarks.md). When V8 collects depends on the process, so the memory
  // grows here by what the stores keep (2 MiB per block, 80 MiB in all: well past the budget of 24 MiB whatever
  // garbage the heap held when the budget's floor was taken), which the writer must see.
  function* walk(): Generator<IndexEntry> {
    for (let at = 0; at < 100_000; at++) {
      const path = `a${Math.floor(at / 900)}/b${Math.floor(at / 30) % 30}/f${String(at).padStart(7, '0')}`;
      yield { path, type: 'file', size: 4096, mode: 0o644, uid: 0, gid: 0, mtime: String(1.7e18 + at), from: 'b' };
    }
  }
  const kept: Buffer[] = [];
  const before = collectionsMade();
  const written = await writeIndex('b', { backupId: 'b', walk: walk() }, undefined, async (key, plain) => {
    if (kept.length < 40) kept.push(Buffer.alloc(2 * 2 ** 20, 1));
    return { key, size: plain.length, storedSize: plain.length, sha256: key };
  });
  assert.ok(written.header.blocks.length > 40);
  assert.ok(collectionsMade() - before >= 1, 'no collection while 80 MiB grew');
});

memory.run();
