import { readdirSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeLine, pathOfLine, type IndexRecord } from './IndexRun.js';
import { IndexSpool } from './IndexSpool.js';

const spool = suite('index spool');

const openFiles = () => readdirSync('/proc/self/fd').length;
const file = (path: string): IndexRecord => ({ path, type: 'file', size: 1, mode: 0o644, uid: 0, gid: 0, mtime: '1', from: 'b' });

async function readBack(records: IndexSpool): Promise<string[]> {
  const paths: string[] = [];
  for await (const record of records.records()) paths.push(record.path);
  return paths;
}

spool('an empty spool read back (an incremental without changes) leaves no file open', async () => {
  const before = openFiles();
  for (let round = 0; round < 5; round++) assert.equal(await readBack(new IndexSpool()), []);
  assert.is(openFiles(), before);
});

spool('a spool read back gives its records in order and closes its file', async () => {
  const before = openFiles();
  const records = new IndexSpool();
  // More than a chunk of lines, so that the file is written before it is read.
  const paths = Array.from({ length: 20000 }, (_, at) => `d/f${String(at).padStart(6, '0')}-${'x'.repeat(40)}`);
  for (const path of paths) await records.add(file(path));
  assert.equal(await readBack(records), paths);
  assert.is(openFiles(), before);
});

spool('its lines are the records as a block holds them, paths read from their start', async () => {
  const shared = [{ from: 'b', start: 0, end: 8, path: 'cloned' }];
  const records: IndexRecord[] = [
    file('a "quoted" name'),
    file('back\\slash/é/☃'),
    {
      ...file('cloned'),
      ranges: [
        { from: 'b', start: 8, end: 16, path: 'cloned', clones: [{ at: 0, source: shared }] },
        { from: 'b', start: 16, end: 24, path: 'cloned', clones: [{ at: 0, source: shared }] },
      ],
    },
    { path: 'gone', deleted: true },
  ];
  const spooled = new IndexSpool();
  for (const record of records) await spooled.add(record);
  const lines: string[] = [];
  for await (const line of spooled.lines()) lines.push(line);
  assert.equal(lines, records.map(encodeLine));
  assert.equal(
    lines.map(pathOfLine),
    records.map((record) => record.path),
  );
  assert.throws(() => pathOfLine('{"type":"file","path":"x"}'), /does not start with its path/);
});

spool.run();
