import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { IndexCache } from './IndexCache.js';
import { encodeLine, encodeLines, encodeRunHeader, type IndexBlock } from './IndexRun.js';
import { IndexView } from './IndexView.js';
import type { ManifestHead } from './ManifestHead.js';
import { fullCollections } from './testing.js';

const memory = suite('index cache: memory while an incremental reads its parent from this host’s copy');

const BLOCKS = 200;
const LINES = 1700;

memory('blocks read one after another are read into memory used again: few buffers held, and no full collection per 16 MiB', async () => {
  const directory = await mkdtemp(path.join(tmpdir(), 'rast-index-cache-'));
  try {
    const cache = new IndexCache(directory);
    const copy = cache.begin('b1', (error) => assert.unreachable(error.message))!;
    const blocks: IndexBlock[] = [];
    const padding = { 'user.note': 'x'.repeat(200) };
    for (let block = 0; block < BLOCKS; block++) {
      const lines: string[] = [];
      for (let line = 0; line < LINES; line++) {
        const at = String(block * LINES + line).padStart(8, '0');
        lines.push(
          encodeLine({ path: `d/f${at}`, type: 'file', size: 1, mode: 0o644, uid: 0, gid: 0, mtime: '1', from: 'b1', xattrs: padding }),
        );
      }
      const plain = encodeLines(lines);
      await copy.add(plain);
      blocks.push({
        key: `k${block}`,
        size: plain.length,
        storedSize: plain.length,
        sha256: '',
        first: `d/f${String(block * LINES).padStart(8, '0')}`,
        records: LINES,
      });
    }
    const header = encodeRunHeader({
      format: 'rast-backup/index',
      version: 2,
      backupId: 'b1',
      over: null,
      entries: BLOCKS * LINES,
      layers: 1,
      blocks,
    });
    await copy.finish(header);
    const run = await cache.load({ id: 'b1', index: { size: header.length } } as ManifestHead);
    assert.ok(run && 'readBlock' in run, 'the copy is kept');
    const view = new IndexView('b1', [run], BLOCKS * LINES);

    const before = process.memoryUsage().arrayBuffers;
    const collections = fullCollections();
    let most = 0;
    for (let block = 0; block < BLOCKS; block++) {
      const entry = await view.get(`d/f${String(block * LINES + 7).padStart(8, '0')}`);
      assert.is(entry?.xattrs?.['user.note'], padding['user.note']);
      most = Math.max(most, process.memoryUsage().arrayBuffers - before);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    collections.stop();
    // 100 MiB read: the view's 16 cached blocks, in memory used again (8 MiB).
    assert.ok(most < 20 * 2 ** 20, `${(most / 2 ** 20).toFixed(0)} MiB of buffers held`);
    // A collection every 16 MiB of blocks read made 6 or more (mem1m6); V8 may make one or two of its own.
    assert.ok(collections.count <= 3, `${collections.count} full collections`);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});

memory.run();
