import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BlockRun, file, layered } from './IndexLayers.fixture.js';
import { encodeLine, MemoryRun } from './IndexRun.js';
import { IndexScan } from './IndexScan.js';
import { IndexView } from './IndexView.js';

/** What a scan passes: each entry's path, its line as text and its parsed entry. */
async function scanned(view: IndexView): Promise<Array<{ path: string; line: string; entry: string }>> {
  const passed = [];
  const scan = await IndexScan.of(view);
  for (; scan.path !== undefined; await scan.next())
    passed.push({ path: scan.path, line: scan.line().toString('latin1'), entry: JSON.stringify(scan.entry()) });
  return passed;
}

// ---

const scan = suite('index scan: one pass over a view, records as their stored lines');

scan('layers of random changes with tombstones, across blocks: the entries of the merged view, each its newest line', async () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const runs = layered(seed);
    const view = new IndexView('three', runs, 0);
    const expected = [];
    for await (const entry of view.all())
      expected.push({ path: entry.path, line: Buffer.from(encodeLine(entry)).toString('latin1'), entry: JSON.stringify(entry) });
    const got = await scanned(view);
    assert.equal(got, expected, `seed ${seed}`);
    assert.ok(got.length > 500, `seed ${seed}: ${got.length} entries`);
  }
});

scan('a run of tombstones alone, an empty layer, and records in memory (a version 1 index)', async () => {
  const base = new BlockRun(
    'base',
    ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'].map((path) => file(path, 'base')),
  );
  const removed = new BlockRun('gone', [
    { path: 'a', deleted: true },
    { path: 'h', deleted: true },
    { path: 'i', deleted: true },
  ]);
  const view = new IndexView('gone', [new BlockRun('empty', []), removed, base], 0);
  assert.equal(
    (await scanned(view)).map(({ path }) => path),
    ['b', 'c', 'd', 'e', 'f', 'g'],
  );
  const memory = new IndexView('v1', [new MemoryRun('v1', [file('x', 'v1'), file('y', 'v1')])], 2);
  assert.equal(await scanned(memory), [
    { path: 'x', line: encodeLine(file('x', 'v1')), entry: JSON.stringify(file('x', 'v1')) },
    { path: 'y', line: encodeLine(file('y', 'v1')), entry: JSON.stringify(file('y', 'v1')) },
  ]);
});

scan('blocks are read ahead of the scan, a few at a time, never the whole run at once', async () => {
  const base = new BlockRun(
    'base',
    Array.from({ length: 7 * 40 }, (_, at) => file(`f${String(at).padStart(4, '0')}`, 'base')),
  );
  const scanning = await IndexScan.of(new IndexView('base', [base], 0));
  assert.ok(base.readBlocks > 1 && base.readBlocks < 10, `${base.readBlocks} of ${base.firsts.length} blocks read at the start`);
  let passed = 0;
  for (; scanning.path !== undefined; await scanning.next()) passed++;
  assert.is(passed, 7 * 40);
  assert.is(base.readBlocks, base.firsts.length, 'each block read once');
});

scan.run();
