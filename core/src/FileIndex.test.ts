import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeFileIndex, encodeFileIndex, storedEntry, type IndexEntry, type StreamRange } from './FileIndex.js';

const sources = suite('file index: shared clone sources');

/** A file that wrote one extent, then cloned it into itself `clones` times, each clone extending its one span. */
function selfCloned(clones: number): IndexEntry {
  const ranges: StreamRange[] = [];
  const span: StreamRange = { from: 'b', start: 100, end: 200, path: 'f', clones: [] };
  ranges.push(span);
  for (let clone = 0; clone < clones; clone += 1) {
    span.clones!.push({ at: span.end, source: ranges });
    span.end += 50;
  }
  return { path: 'f', type: 'file', size: 1, mode: 0o644, uid: 0, gid: 0, mtime: '0', from: 'b', ranges };
}

sources('a file that clones itself is stored once: its size grows by one record per clone, and decodes to the same shared lists', () => {
  const sizes = [10, 20, 40].map(
    (clones) => encodeFileIndex({ format: 'rast-backup/index', version: 1, backupId: 'b', entries: [selfCloned(clones)] }).length,
  );
  assert.ok(sizes[2]! - sizes[1]! < 2.5 * (sizes[1]! - sizes[0]!), `linear growth: ${sizes.join(', ')} bytes`);
  const entry = selfCloned(3);
  assert.equal(
    storedEntry(entry).ranges![0]!.clones!.map((clone) => clone.source as unknown),
    [0, 0, 0],
  );
  const decoded = decodeFileIndex(encodeFileIndex({ format: 'rast-backup/index', version: 1, backupId: 'b', entries: [entry] }))
    .entries[0]!;
  assert.ok(
    decoded.ranges![0]!.clones!.every((clone) => clone.source === decoded.ranges),
    "each source is the entry's own list again",
  );
});

sources('a source given twice is written once; a number given before nothing is refused', () => {
  const parent: StreamRange[] = [{ from: 'a', start: 0, end: 90, path: 'g' }];
  const entry: IndexEntry = {
    path: 'h',
    type: 'file',
    size: 1,
    mode: 0o644,
    uid: 0,
    gid: 0,
    mtime: '0',
    from: 'b',
    ranges: [
      {
        from: 'b',
        start: 10,
        end: 30,
        path: 'h',
        clones: [
          { at: 10, source: parent },
          { at: 20, source: parent },
        ],
      },
    ],
  };
  assert.equal(
    storedEntry(entry).ranges![0]!.clones!.map((clone) => clone.source as unknown),
    [parent, 1],
  );
  const line = JSON.stringify({ ...entry, ranges: [{ from: 'b', start: 10, end: 30, path: 'h', clones: [{ at: 10, source: 1 }] }] });
  const header = JSON.stringify({ format: 'rast-backup/index', version: 1, backupId: 'b', entries: 1 });
  assert.throws(() => decodeFileIndex(Buffer.from(`${header}\n${line}\n`)), /file index entry h: a clone names source 1/);
});

sources.run();
