import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { IndexEntry } from './FileIndex.js';
import { decodeBlock, encodeBlock, type IndexRecord } from './IndexRun.js';

const records = suite('index block records, read lazily');

const file = (path: string): IndexEntry => ({ path, type: 'file', size: 1, mode: 0o644, uid: 0, gid: 0, mtime: '0', from: 'b1' });

records('paths are read from their lines as the records hold them: escapes, quotes, names that are not UTF-8', () => {
  const written: IndexRecord[] = [
    file('.'),
    file('a "quoted"\\name'),
    file('l\udce9\udcff'),
    { path: 'gone', deleted: true },
    file('é/💀'),
  ];
  const block = decodeBlock(encodeBlock(written));
  assert.is(block.length, written.length);
  written.forEach((record, at) => assert.is(block.path(at), record.path));
  written.forEach((record, at) => assert.equal(block.record(at), record));
});

records('a record whose path is not its first key is still read (by parsing it)', () => {
  const block = decodeBlock(Buffer.from('{"type":"file","path":"x"}\n{"path":"y","deleted":true}\n'));
  assert.is(block.path(0), 'x');
  assert.is(block.path(1), 'y');
});

records('a record passed by a scan is not kept with its block; one looked up is', () => {
  const written = [file('a'), file('b'), file('c')];
  const block = decodeBlock(encodeBlock(written));
  written.forEach((record, at) => assert.equal(block.passing(at), record));
  assert.ok(block.passing(1) !== block.passing(1), 'parsed again, not kept');
  assert.ok(block.record(1) === block.record(1), 'kept once looked up');
  assert.ok(block.passing(1) === block.record(1), 'a kept record is passed as kept');
});

records('a line that is not a record, or a block cut short, is an error made by the caller, naming the record', () => {
  const damage = (message: string) => new Error(`block 3: ${message}`);
  const block = decodeBlock(Buffer.from('{"path":"a","type":"file"}\n{"path":"b",\n'), damage);
  assert.is(block.path(1), 'b');
  assert.throws(() => block.record(1), /^block 3: record 2: /);
  assert.throws(() => decodeBlock(Buffer.from('{"path":"a"}'), damage), /^block 3: the last record does not end with a line break$/);
  assert.throws(
    () => decodeBlock(Buffer.from('{"path":"a","path":"b"}\n'), damage).record(0),
    /^block 3: record 1: its path is written twice$/,
  );
  const twice = decodeBlock(Buffer.from('{"path":"a","path":"b"}\n'), damage);
  assert.is(twice.path(0), 'a');
  assert.throws(() => twice.record(0), /^block 3: record 1: its path is written twice$/);
});

records.run();
