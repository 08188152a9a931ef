import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { IndexEntry } from './FileIndex.js';
import { writeIndex, type StoreObject } from './IndexWriter.js';
import { decodeBlock } from './IndexRun.js';

const writer = suite('index writer: blocks stored while the next is made');

const entries = (count: number): IndexEntry[] =>
  Array.from({ length: count }, (_, at) => ({
    path: `d/f${String(at).padStart(6, '0')}`,
    type: 'file',
    size: at,
    mode: 0o644,
    uid: 0,
    gid: 0,
    mtime: '1',
    from: 'b',
  }));

writer('a walked index is stored two blocks at a time, each under its number, listed in order', async () => {
  let storing = 0;
  let most = 0;
  const stored = new Map<string, Buffer>();
  const store: StoreObject = async (key, plain) => {
    most = Math.max(most, ++storing);
    // Later blocks finish first: the header must list them by number all the same.
    await new Promise((resolve) => setTimeout(resolve, key.endsWith('index') ? 0 : 20 - (stored.size % 3) * 5));
    storing--;
    stored.set(key, plain);
    return { key, size: plain.length, storedSize: plain.length, sha256: key };
  };
  const { header, record } = await writeIndex('b', { backupId: 'b', walk: entries(5000) }, undefined, store, undefined, 16 * 1024);
  assert.is(most, 2);
  assert.is(record.entries, 5000);
  assert.ok(header.blocks.length > 10, `${header.blocks.length} blocks`);
  let next = 0;
  for (const [number, block] of header.blocks.entries()) {
    assert.ok(block.key.endsWith(`index.${String(number).padStart(6, '0')}`), block.key);
    const records = decodeBlock(stored.get(block.key)!);
    assert.is(block.first, `d/f${String(next).padStart(6, '0')}`);
    next += block.records;
    assert.is(records.length, block.records);
  }
  assert.is(next, 5000);
});

writer('a store that fails fails the run, after the other block in flight has settled', async () => {
  let settledAfterFailure = false;
  const store: StoreObject = async (key, plain) => {
    if (key.endsWith('index.000003')) throw new Error('the sink is full');
    await new Promise((resolve) => setTimeout(resolve, 30));
    if (key.endsWith('index.000004')) settledAfterFailure = true;
    return { key, size: plain.length, storedSize: plain.length, sha256: key };
  };
  try {
    await writeIndex('b', { backupId: 'b', walk: entries(5000) }, undefined, store, undefined, 16 * 1024);
    assert.unreachable('the run must fail');
  } catch (error) {
    assert.match((error as Error).message, /the sink is full/);
  }
  assert.ok(settledAfterFailure, 'block 4, stored beside block 3, settled before the run failed');
});

writer.run();
