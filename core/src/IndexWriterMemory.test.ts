import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { IndexSpool } from './IndexSpool.js';
import { writeIndex } from './IndexWriter.js';

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

memory.run();
