import { readdirSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { IndexRecord } from './IndexRun.js';
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

spool.run();
