import { createHash } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeRun } from './IndexWriter.js';
import type { ManifestHead } from './ManifestHead.js';
import { Repository } from './Repository.js';
import { MemorySink, silentLogger } from './testing.js';

const memory = suite('index store: memory while a verify reads a stored index from the sinks');

const BLOCKS = 200;
const LINES = 1700;
const path = (record: number) => `d/f${String(record).padStart(8, '0')}`;

memory('blocks fetched one after another leave at most about 16 MiB of buffers behind, not the 64 MiB V8 waits for', async () => {
  const sink = new MemorySink('a');
  const padding = { 'user.note': 'x'.repeat(200) };
  const records = (function* () {
    for (let record = 0; record < BLOCKS * LINES; record++)
      yield { path: path(record), type: 'file' as const, size: 1, mode: 0o644, uid: 0, gid: 0, mtime: '1', from: 'b1', xattrs: padding };
  })();
  const written = await writeRun({ id: 'b1', over: null, entries: BLOCKS * LINES, layers: 1 }, records, async (key, plain) => {
    await sink.put(key, plain);
    return { key, size: plain.length, storedSize: plain.length, sha256: createHash('sha256').update(plain).digest('hex') };
  });
  assert.ok(written.header.blocks.length >= 100, `${written.header.blocks.length} blocks`);
  const repository = new Repository([sink], () => undefined, silentLogger());
  const manifest = { id: 'b1', parent: null, transforms: [], index: written.record } as unknown as ManifestHead;
  const view = await repository.indexes.open(manifest);

  const before = process.memoryUsage().arrayBuffers;
  let most = 0;
  let read = 0;
  for await (const entry of view.all()) {
    if (read++ % 500 === 0) most = Math.max(most, process.memoryUsage().arrayBuffers - before);
    void entry;
  }
  assert.is(read, BLOCKS * LINES);
  // 140 MiB read: the view's 16 cached blocks (8 MiB) and at most 16 MiB since the last collection; before, 42–47 MiB.
  assert.ok(most < 36 * 2 ** 20, `${(most / 2 ** 20).toFixed(0)} MiB of buffers held`);
});

memory.run();
