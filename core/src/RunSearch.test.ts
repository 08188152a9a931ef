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
    for (const [within, test, clues] of [
      ['d3', (path: string) => /f1\d$/.test(path), undefined],
      ['.', (path: string) => path.endsWith('f7') || path.endsWith('f35'), undefined],
      ['d3', (path: string) => /f1\d$/.test(path), ['f1']],
      ['.', (path: string) => path.endsWith('f7') || path.endsWith('f35'), ['f7', 'f35']],
    ] as const) {
      const runSearch = new RunSearch(within, test, { clues });
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

search('a block that holds none of the clues is not searched: its paths are not tested', async () => {
  const [three, two, one, base] = layered(4);
  const view = new IndexView('b', [three, two, one, base], 0);
  const counted = (tested: string[]) => (path: string) => (tested.push(path), path.endsWith('f35'));
  const [all, clued]: string[][] = [[], []];
  const expected = await new RunSearch('.', counted(all)).search(view);
  assert.equal(await new RunSearch('.', counted(clued), { clues: ['f35'] }).search(view), expected);
  assert.ok(expected!.length > 0, 'the search finds something');
  assert.ok(clued.length * 4 < all.length, `${clued.length} paths tested with the clue, ${all.length} without`);
});

search('a run with too many matches to keep: undefined, so that the caller scans the view', async () => {
  const [, , one, base] = layered(5);
  assert.is(await new RunSearch('.', () => true, {}, 100).search(new IndexView('b', [one, base], 0)), undefined);
  assert.ok(await new RunSearch('d1', () => true, {}, 100).search(new IndexView('b', [one, base], 0)), 'a subtree with fewer');
});

search.run();
