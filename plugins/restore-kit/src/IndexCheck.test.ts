import { ErrorCode, IndexView, MemoryRun, type IndexEntry, type RastError } from '@rast-backup/core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkIndex, IndexChecker } from './IndexCheck.js';

const entry = (path: string, type: IndexEntry['type'] = 'file', fields: Partial<IndexEntry> = {}): IndexEntry => ({
  path,
  type,
  size: 0,
  mode: 0o644,
  uid: 0,
  gid: 0,
  mtime: '0',
  from: 'b',
  ...fields,
});

/** A view of entries exactly as given (not sorted): a damaged or hostile run. */
const asGiven = (entries: IndexEntry[]) => new IndexView('b', [new MemoryRun('b', entries)], entries.length);

async function refusal(view: IndexView, chain?: Set<string>): Promise<string | undefined> {
  try {
    await checkIndex(view, 'b', chain);
    return undefined;
  } catch (error) {
    assert.is((error as RastError).code, ErrorCode.RESTORE_UNSAFE);
    return (error as Error).message;
  }
}

test('a sound index passes, hard links checked by lookup in batches', async () => {
  const entries = [entry('.', 'directory'), entry('d', 'directory')];
  for (let n = 0; n < 5000; n++) entries.push(entry(`d/f${String(n).padStart(5, '0')}`));
  for (let n = 0; n < 5000; n++)
    entries.push(entry(`l/${String(n).padStart(5, '0')}`, 'hardlink', { linkTo: `d/f${String(4999 - n).padStart(5, '0')}` }));
  entries.splice(5002, 0, entry('l', 'directory'));
  assert.is(await refusal(IndexView.of({ format: 'rast-backup/index', version: 1, backupId: 'b', entries })), undefined);
});

test('what a restore would refuse is named', async () => {
  assert.match((await refusal(asGiven([entry('a'), entry('a')]))) ?? '', /"a": the index lists it twice/);
  assert.match((await refusal(asGiven([entry('b'), entry('a')]))) ?? '', /"a": the index lists it after b, out of order/);
  assert.match((await refusal(asGiven([entry('s', 'symlink'), entry('s/x')]))) ?? '', /"s\/x": it lies below s, which is a symlink/);
  assert.match(
    (await refusal(asGiven([entry('f'), entry('f/g', 'directory'), entry('f/g/h')]))) ?? '',
    /"f\/g": it lies below f, which is a file/,
  );
  assert.match(
    (await refusal(asGiven([entry('d', 'directory'), entry('l', 'hardlink', { linkTo: 'd' })]))) ?? '',
    /"l": it is a hard link to "d"/,
  );
  assert.match((await refusal(asGiven([entry('a')]), new Set(['other']))) ?? '', /backup b holds it, which is not in its chain/);
  assert.match((await refusal(asGiven([entry('../x')]))) ?? '', /refusing/);
});

test('a subtree read alone: what lies above it must be directories', async () => {
  const view = asGiven([entry('f'), entry('f/g/h')]);
  const checker = new IndexChecker(view, 'b');
  const error = await checker.enter('f/g/h').then(
    () => undefined,
    (failure: Error) => failure.message,
  );
  assert.match(error ?? '', /"f\/g\/h": it lies below f, which is a file/);
});

test.run();
