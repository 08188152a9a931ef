import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, IndexView, type FileIndex, type IndexEntry, type Manifest, type RastError } from '@rast-backup/core';
import { silentLogger, temporaryDirectory } from '@rast-backup/core/testing';
import tar from 'tar-stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { checkIndex } from '@rast-backup/restore-kit';
import { restoreTree } from './TarRestorer.js';

// A hostile backup: a tar stream and an index that agree with each other, both crafted.
async function craftedTar(entries: Array<{ header: tar.Header; body?: string }>): Promise<Buffer> {
  const pack = tar.pack();
  for (const { header, body } of entries) pack.entry(header, body ?? '');
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const entry = (fields: Partial<IndexEntry> & Pick<IndexEntry, 'path' | 'type'>): IndexEntry => ({
  size: 0,
  mode: 0o644,
  uid: 0,
  gid: 0,
  mtime: '0',
  from: 'evil',
  ...fields,
});

async function restoreCrafted(stream: Buffer, entries: IndexEntry[]) {
  const parent = await temporaryDirectory();
  const destination = path.join(parent, 'destination');
  const { mkdir } = await import('node:fs/promises');
  await mkdir(destination);
  const manifest = { id: 'evil' } as Manifest;
  const index = IndexView.of({ format: 'rast-backup/index', version: 1, backupId: 'evil', entries });
  const error = await restoreTree({
    chain: [manifest],
    target: manifest,
    index,
    destination,
    include: [],
    log: silentLogger(),
    openStream: async function* () {
      yield stream;
    },
    rangeReader: () => {
      throw new Error('tar restore reads whole streams');
    },
  }).then(
    () => undefined,
    (failure: RastError) => failure,
  );
  return { error, parent, destination };
}

// ---

const hostile = suite('hostile archives');

hostile('an archive path with .. writes nothing outside the destination', async () => {
  const stream = await craftedTar([{ header: { name: '../escaped', type: 'file', size: 4 } as tar.Header, body: 'evil' }]);
  const { error, parent } = await restoreCrafted(stream, [entry({ path: '../escaped', type: 'file', size: 4 })]);
  assert.is(error?.code, ErrorCode.RESTORE_UNSAFE);
  assert.equal(await readdir(parent), ['destination']);
});

hostile('a file written through a symlink the archive made is refused', async () => {
  const outside = await temporaryDirectory();
  const stream = await craftedTar([
    { header: { name: 'link', type: 'symlink', linkname: outside } as tar.Header },
    { header: { name: 'link/owned', type: 'file', size: 4 } as tar.Header, body: 'evil' },
  ]);
  const { error } = await restoreCrafted(stream, [
    entry({ path: 'link', type: 'symlink', target: outside }),
    entry({ path: 'link/owned', type: 'file', size: 4 }),
  ]);
  assert.is(error?.code, ErrorCode.RESTORE_UNSAFE);
  assert.equal(await readdir(outside), []);
});

hostile('a hard link to a path outside the destination is refused', async () => {
  const stream = await craftedTar([{ header: { name: 'hl', type: 'link', linkname: '../../etc/passwd' } as tar.Header }]);
  const { error } = await restoreCrafted(stream, [entry({ path: 'hl', type: 'hardlink', linkTo: '../../etc/passwd' })]);
  assert.is(error?.code, ErrorCode.RESTORE_UNSAFE);
});

hostile('a stream that disagrees with its index is reported as damaged', async () => {
  const stream = await craftedTar([{ header: { name: 'file', type: 'file', size: 3 } as tar.Header, body: 'abc' }]);
  const { error } = await restoreCrafted(stream, [entry({ path: 'file', type: 'file', size: 10 })]);
  assert.is(error?.code, ErrorCode.STREAM_DAMAGED);
});

hostile('a sparse file whose map does not fit its entry or its size is reported as damaged, and one that fits is restored', async () => {
  const sparse = (map: string, data: string, realSize = 50) => {
    const body = map.padEnd(Math.ceil(map.length / 512) * 512, '\0') + data;
    const pax = { 'GNU.sparse.major': '1', 'GNU.sparse.minor': '0', 'GNU.sparse.name': 'f', 'GNU.sparse.realsize': String(realSize) };
    return craftedTar([{ header: { name: 'GNUSparseFile.0/f', type: 'file', size: body.length, pax } as tar.Header, body }]);
  };
  const restore = async (stream: Buffer) => restoreCrafted(stream, [entry({ path: 'f', type: 'file', size: 50 })]);
  const damaged = ['2\n0\n10\n5\n5\n', '1\n45\n10\n', '1\n0\n20\n', 'x\n', '1\n0\n'];
  for (const map of damaged)
    assert.is((await restore(await sparse(map, 'a'.repeat(10)))).error?.code, ErrorCode.STREAM_DAMAGED, JSON.stringify(map));
  const { error, destination } = await restore(await sparse('2\n0\n4\n40\n6\n', 'abcdefghij'));
  assert.is(error, undefined);
  assert.equal(
    await readFile(path.join(destination, 'f')),
    Buffer.concat([Buffer.from('abcd'), Buffer.alloc(36), Buffer.from('efghij'), Buffer.alloc(4)]),
  );
});

hostile('refusals and damage name a path that is not UTF-8 as \\xHH, as ls shows it', async () => {
  const name = 'lat-\udce9\udcff';
  const index: FileIndex = {
    format: 'rast-backup/index',
    version: 1,
    backupId: 'evil',
    entries: [entry({ path: name, type: 'file' }), entry({ path: name, type: 'file' })],
  };
  const refusal = await checkIndex(IndexView.of(index), 'evil').then(
    () => undefined,
    (error: RastError) => error,
  );
  assert.is(refusal?.code, ErrorCode.RESTORE_UNSAFE);
  assert.is(refusal?.message, 'backup evil: refusing to restore "lat-\\xe9\\xff": the index lists it twice');
  const stream = await craftedTar([{ header: { name: 'other', type: 'file', size: 3 } as tar.Header, body: 'abc' }]);
  const { error } = await restoreCrafted(stream, [entry({ path: name, type: 'file', size: 3 })]);
  assert.is(error?.code, ErrorCode.STREAM_DAMAGED);
  assert.is(error?.message, 'backup evil: its stream lacks 1 entries its index lists (lat-\\xe9\\xff)');
});

hostile.run();
