import { createHash } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeRun } from './IndexWriter.js';
import type { IndexView } from './IndexView.js';
import type { ManifestHead } from './ManifestHead.js';
import { Repository } from './Repository.js';
import { fullCollections, MemorySink, silentLogger } from './testing.js';

const memory = suite('index store: memory while a verify reads a stored index from the sinks');

const BLOCKS = 200;
const LINES = 1700;
const path = (record: number) => `d/f${String(record).padStart(8, '0')}`;

/** A MemorySink that reads into the caller's memory, as the local and S3 sinks do. */
class ReadIntoSink extends MemorySink {
  async readInto(key: string, into: Buffer): Promise<number> {
    const data = this.objects.get(key)!;
    return data.copy(into);
  }
}

/** A stored index of BLOCKS blocks of about 0.7 MiB each in a sink that reads into the caller's memory, opened as a view. */
async function storedView(): Promise<IndexView> {
  const sink = new ReadIntoSink('a');
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
  return view;
}

memory(
  'blocks fetched one after another are read into memory used again: few buffers held, and no full collection per 16 MiB',
  async () => {
    const view = await storedView();

    const before = process.memoryUsage().arrayBuffers;
    const collections = fullCollections();
    let most = 0;
    let read = 0;
    for await (const entry of view.all()) {
      if (read++ % 500 === 0) most = Math.max(most, process.memoryUsage().arrayBuffers - before);
      void entry;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    collections.stop();
    assert.is(read, BLOCKS * LINES);
    // 140 MiB read: the view's 16 cached blocks and the one read ahead, in memory used again (9 MiB).
    assert.ok(most < 24 * 2 ** 20, `${(most / 2 ** 20).toFixed(0)} MiB of buffers held`);
    // A collection every 16 MiB of blocks read made 8 (mem1m7); V8 may make one or two of its own.
    assert.ok(collections.count <= 3, `${collections.count} full collections`);
  },
);

memory('blocks read by a reader that never gives them back are collected once 24 MiB of heap and buffers have piled up', async () => {
  const view = await storedView();
  const run = view.layers[0]!;
  const before = process.memoryUsage().arrayBuffers;
  let most = 0;
  for (let block = 0; block < run.firsts.length; block++) {
    const records = await run.readBlock(block);
    assert.is(records.path(0), run.firsts[block]);
    most = Math.max(most, process.memoryUsage().arrayBuffers - before);
  }
  // 140 MiB read, none given back: at most 24 MiB of them since the last collection, and the spare memory; V8 alone waits for 64 MiB.
  assert.ok(most < 40 * 2 ** 20, `${(most / 2 ** 20).toFixed(0)} MiB of buffers held`);
});

memory.run();
