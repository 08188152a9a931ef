import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BlockRun, file } from './IndexLayers.fixture.js';
import { IndexView } from './IndexView.js';

const release = suite('index view: blocks given back for their memory to be read into again');

const path = (n: number) => `d/f${String(n).padStart(5, '0')}`;
const entries = Array.from({ length: 700 }, (_, n) => file(path(n), 'b1', n));

release('a scan reads on in a block that many lookups let go from the cache meanwhile', async () => {
  const run = new BlockRun('b1', entries);
  const view = new IndexView('b1', [run], entries.length);
  let seen = 0;
  for await (const entry of view.all()) {
    assert.is(entry.path, path(seen));
    assert.is(entry.size, seen);
    // 20 lookups in other blocks: more than the cache holds, so the block the scan is in leaves the cache.
    if (seen % 3 === 0)
      for (let lookup = 0; lookup < 20; lookup++) {
        const other = (seen * 7 + lookup * 37) % entries.length;
        assert.is((await view.get(path(other)))?.size, other);
      }
    seen++;
  }
  assert.is(seen, entries.length);
  assert.ok(run.released > 50, `${run.released} blocks given back of ${run.readBlocks} read`);
});

release('lookups at once share a block being read, and each gets its entry', async () => {
  const run = new BlockRun('b1', entries);
  const view = new IndexView('b1', [run], entries.length);
  const wanted = Array.from({ length: 300 }, (_, n) => (n * 113) % entries.length);
  const found = await Promise.all(wanted.map((n) => view.get(path(n))));
  assert.equal(
    found.map((entry) => entry?.size),
    wanted,
  );
  assert.ok(run.released > 0);
});

release('a block is not read after it was given back: that throws, it does not read what the memory holds next', async () => {
  const run = new BlockRun('b1', entries);
  const records = await run.readBlock(0);
  assert.is(records.path(1), path(1));
  run.releaseBlock(records);
  assert.throws(() => records.line(2), /read after its memory was given back/);
  assert.is(run.released, 1);
});

release.run();
