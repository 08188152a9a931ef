import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { IndexEntry } from './FileIndex.js';
import { layered } from './IndexLayers.fixture.js';
import { IndexView } from './IndexView.js';
import { RunSearch } from './RunSearch.js';

const search = suite('run search');

search('each run is read once for many views; each view gets what a scan of it gets, shadowed and removed paths left out', async () => {
  for (const seed of [1, 2, 3]) {
    const [three, two, one, base] = layered(seed);
    const views = [[base], [one, base], [two, one, base], [three, two, one, base]].map((layers, at) => new IndexView(`b${at}`, layers, 0));
    for (const [within, test] of [
      ['d3', (path: string) => /f1\d$/.test(path)],
      ['.', (path: string) => path.endsWith('f7') || path.endsWith('f35')],
    ] as const) {
      const runSearch = new RunSearch(within, test);
      let baseReads = 0;
      for (const view of views) {
        const expected: IndexEntry[] = [];
        for await (const entry of view.subtree(within)) if (test(entry.path)) expected.push(entry);
        const before = base.readBlocks;
        const found = await runSearch.search(view);
        baseReads += base.readBlocks - before;
        assert.equal(found, expected, `seed ${seed}, ${within}, ${view.backupId}`);
      }
      assert.ok(
        baseReads <= base.firsts.length,
        `the base is read once for the four views: ${baseReads} reads of ${base.firsts.length} blocks`,
      );
    }
  }
});

search('a run with too many matches to keep: undefined, so that the caller scans the view', async () => {
  const [, , one, base] = layered(5);
  assert.is(await new RunSearch('.', () => true, 100).search(new IndexView('b', [one, base], 0)), undefined);
  assert.ok(await new RunSearch('d1', () => true, 100).search(new IndexView('b', [one, base], 0)), 'a subtree with fewer');
});

search.run();
