import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { diffIndexes, entryChanges, type IndexDifference } from './IndexDiff.js';
import { BlockRun, file, layered } from './IndexLayers.fixture.js';
import { IndexView } from './IndexView.js';

const show = (difference: IndexDifference) =>
  `${difference.change} ${difference.path} ${'changes' in difference ? difference.changes.join(',') : ''}`;

async function listed(differences: AsyncIterable<IndexDifference>): Promise<string[]> {
  const shown: string[] = [];
  for await (const difference of differences) shown.push(show(difference));
  return shown;
}

// ---

const diff = suite('index diff');

diff('views that share their bottom runs: only the other runs are read, and the answer is that of a whole comparison', async () => {
  for (const seed of [1, 2, 3, 4]) {
    const [three, two, one, base] = layered(seed) as [BlockRun, BlockRun, BlockRun, BlockRun];
    const before = new IndexView('one', [one, base], 0);
    const after = new IndexView('three', [three, two, one, base], 0);
    const chains = { before: new Set(['base', 'one']), after: new Set(['base', 'one', 'two', 'three']) };
    const fast = await listed(diffIndexes(before, after, chains));
    const baseReads = base.readBlocks;
    assert.ok(baseReads < base.firsts.length, `the base run is looked up (${baseReads} of ${base.firsts.length} blocks), not read whole`);
    // The same views read whole, each as one layer: the side-by-side merge.
    const whole = await listed(diffIndexes(IndexView.of(await before.load()), IndexView.of(await after.load()), chains));
    assert.equal(fast, whole, `seed ${seed}`);
    assert.ok(whole.length > 20, `seed ${seed}: ${whole.length} differences`);
    assert.ok(whole.some((line) => line.startsWith('added')) && whole.some((line) => line.startsWith('removed')));
  }
});

diff('what differs: type, content by size, time and data location, mode, owner, xattrs', () => {
  const chains = { before: new Set(['a']), after: new Set(['a', 'b']) };
  const was = file('f', 'a');
  assert.equal(entryChanges(was, { ...was }, chains), []);
  assert.equal(entryChanges(was, { ...was, type: 'symlink', target: 'x' }, chains), ['type']);
  assert.equal(entryChanges(was, { ...was, size: 2 }, chains), ['content']);
  assert.equal(entryChanges(was, { ...was, mtime: '2' }, chains), ['content']);
  assert.equal(entryChanges(was, { ...was, from: 'b' }, chains), ['content'], 'stored again in the same chain');
  assert.equal(
    entryChanges(was, { ...was, from: 'c' }, { before: new Set(['a']), after: new Set(['c']) }),
    [],
    'another chain: not comparable',
  );
  assert.equal(entryChanges(was, { ...was, from: 'b', mode: 0o600 }, chains), ['mode'], 'stored again for its mode');
  assert.equal(entryChanges(was, { ...was, uid: 5, xattrs: { 'user.a': 'eA==' } }, chains), ['owner', 'xattrs']);
  const spans = { ...was, ranges: [{ from: 'a', start: 0, end: 10, path: 'f' }] };
  assert.equal(entryChanges(spans, { ...spans, from: 'b' }, chains), [], 'a file with spans: only where its data lies counts');
  assert.equal(entryChanges(spans, { ...spans, ranges: [...spans.ranges, { from: 'b', start: 5, end: 9, path: 'f' }] }, chains), [
    'content',
  ]);
});

diff.run();
