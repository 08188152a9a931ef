import { decodeFileIndex, encodeFileIndex, type IndexEntry, type StreamRange } from '@rast-backup/core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { sourceAt } from './CloneSource.js';

const cloneSource = suite("a clone's source as it was at the clone");

cloneSource(
  'a file that clones itself: the source at a clone is its own span up to that clone (after a round trip through the stored index)',
  () => {
    const ranges: StreamRange[] = [];
    const span: StreamRange = { from: 'b', start: 100, end: 200, path: 'f', clones: [] };
    ranges.push(span);
    for (let clone = 0; clone < 3; clone += 1) {
      span.clones!.push({ at: span.end, source: ranges });
      span.end += 50;
    }
    const entry: IndexEntry = { path: 'f', type: 'file', size: 1, mode: 0o644, uid: 0, gid: 0, mtime: '0', from: 'b', ranges };
    const decoded = decodeFileIndex(encodeFileIndex({ format: 'rast-backup/index', version: 1, backupId: 'b', entries: [entry] }))
      .entries[0]!;
    // The source as it was at the second clone: the span up to that clone.
    assert.equal(
      sourceAt(decoded.ranges![0]!.clones![1]!.source, 'b', 250).map(({ start, end }) => [start, end]),
      [[100, 250]],
    );
  },
);

cloneSource('a source of another backup is not cut', () => {
  const parent: StreamRange[] = [{ from: 'a', start: 0, end: 90, path: 'g' }];
  assert.equal(sourceAt(parent, 'b', 10), parent);
});

cloneSource.run();
