import { IndexView, type IndexEntry } from '@rast-backup/core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { indexDifference } from './IndexComparison.js';

const entry = (path: string, type: IndexEntry['type'], size = 0): IndexEntry => ({
  path,
  type,
  size,
  mode: 0o644,
  uid: 0,
  gid: 0,
  mtime: '0',
  from: 'b1',
});
const stored = [entry('.', 'directory'), entry('a', 'directory'), entry('a/f', 'file', 3), entry('b', 'file', 5)];
const differ = async (built: IndexEntry[]) => (await indexDifference(built, view())) ?? 'no difference';
const view = () => IndexView.of({ format: 'rast-backup/index', version: 1, backupId: 'b1', entries: stored });

const comparison = suite('index comparison: the index rebuilt from a stream against the stored one');

comparison('the same entries: no difference', async () => {
  assert.is(await indexDifference(stored, view()), undefined);
});

comparison('an entry missing, added, or of another size or type: the first difference, named', async () => {
  assert.match(await differ(stored.slice(0, 3)), /the stream holds nothing where its index lists b \(file, 5 bytes\)/);
  assert.match(await differ([...stored, entry('c', 'file')]), /the stream holds c \(file, 0 bytes\) where its index lists nothing/);
  assert.match(
    await differ([stored[0]!, stored[1]!, entry('a/f', 'file', 4), stored[3]!]),
    /a\/f \(file, 4 bytes\) where its index lists a\/f \(file, 3 bytes\)/,
  );
  assert.match(await differ([stored[0]!, entry('a', 'file'), ...stored.slice(2)]), /a \(file, 0 bytes\) where/);
});

comparison('a walk stopped at the first difference is closed', async () => {
  let closed = false;
  function* walk(): Generator<IndexEntry> {
    try {
      yield stored[0]!;
      yield entry('z', 'file');
      yield* stored.slice(1);
    } finally {
      closed = true;
    }
  }
  assert.ok(await indexDifference(walk(), view()));
  assert.ok(closed);
});

comparison.run();
