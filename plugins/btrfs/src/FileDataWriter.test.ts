import { closeSync, fstatSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import { temporaryDirectory } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createRequire } from 'node:module';
import { BadFileData, FileDataWriter } from './FileDataWriter.js';
import { ParentFileView } from './ParentFileView.js';
import type { ReceiveNode } from './ReceiveTree.js';

const zstd = createRequire(import.meta.url)('zstd-napi') as { compress(data: Buffer): Buffer };

async function file(contents = Buffer.alloc(0)) {
  const directory = await temporaryDirectory('rast-writer-');
  const name = path.join(directory, 'file');
  writeFileSync(name, contents);
  const fd = openSync(name, 'r+');
  return { name, fd, directory };
}

const bytes = (length: number, seed: number) => Buffer.from(Array.from({ length }, (_, i) => (i * 7 + seed) & 0xff));

// ---

const writer = suite('FileDataWriter: the data commands of a send stream on one open file');

writer('zeros past the end extend the file as a hole; zeros inside it become a punched hole', async () => {
  const { name, fd } = await file();
  const data = new FileDataWriter(fd, 0);
  data.write(0, bytes(4096, 1));
  data.write(4096, Buffer.alloc(8 * 1024 * 1024));
  data.write(8 * 1024 * 1024 + 4096, bytes(4096, 2));
  assert.is(data.size, 8 * 1024 * 1024 + 8192);
  assert.ok(fstatSync(fd).blocks * 512 < 1024 * 1024, 'the zeros are not written');
  data.write(0, Buffer.alloc(4096));
  data.truncate(data.size);
  closeSync(fd);
  const contents = readFileSync(name);
  assert.ok(contents.subarray(0, 8 * 1024 * 1024 + 4096).every((byte) => byte === 0));
  assert.equal(contents.subarray(-4096), bytes(4096, 2));
});

writer('a clone within one file copies overlapping ranges as the kernel would, and past the source end leaves a hole', async () => {
  const { name, fd } = await file(bytes(3 * 1024 * 1024, 3));
  const data = FileDataWriter.open(fd);
  const before = readFileSync(name);
  data.clone(1024 * 1024, 1536 * 1024, data, 512 * 1024);
  data.clone(5 * 1024 * 1024, 1024 * 1024, data, 2560 * 1024);
  data.flush();
  closeSync(fd);
  const after = readFileSync(name);
  assert.equal(after.subarray(1024 * 1024, 2560 * 1024), before.subarray(512 * 1024, 2048 * 1024));
  assert.is(after.length, 6 * 1024 * 1024);
  assert.equal(after.subarray(5 * 1024 * 1024, 5 * 1024 * 1024 + 512 * 1024), before.subarray(2560 * 1024));
  assert.ok(after.subarray(5 * 1024 * 1024 + 512 * 1024).every((byte) => byte === 0));
});

writer('gathers consecutive writes into large ones, written before any read', async () => {
  const { name, fd } = await file();
  const data = new FileDataWriter(fd, 0);
  for (let offset = 0; offset < 3 * 1024 * 1024; offset += 49152) data.write(offset, bytes(49152, offset));
  assert.ok(fstatSync(fd).size < data.size, 'the last writes are still gathered');
  const copy = Buffer.alloc(49152);
  assert.is(data.read(49152, copy, copy.length), copy.length);
  assert.equal(copy, bytes(49152, 49152));
  assert.is(fstatSync(fd).size, data.size, 'a read writes out what was gathered');
  data.flush();
  closeSync(fd);
  const contents = readFileSync(name);
  for (let offset = 0; offset < contents.length; offset += 49152)
    assert.equal(contents.subarray(offset, offset + 49152), bytes(49152, offset));
});

writer('a clone from an open file is copied by the kernel, data runs only: the holes of a sparse source stay holes', async () => {
  const dense = await file(bytes(3 * 1024 * 1024 + 100, 4));
  const target = await file();
  const data = new FileDataWriter(target.fd, 0);
  data.write(0, bytes(4096, 6));
  data.clone(4096, 3 * 1024 * 1024 + 4096, { read: () => assert.unreachable('read in user space') as never, fd: dense.fd }, 0);
  assert.is(data.size, 3 * 1024 * 1024 + 8192, 'the clone reaches past the source end: the file grows as a hole');
  closeSync(target.fd);
  const contents = readFileSync(target.name);
  assert.equal(contents.subarray(0, 4096), bytes(4096, 6));
  assert.equal(contents.subarray(4096, 4096 + 3 * 1024 * 1024 + 100), readFileSync(dense.name));
  assert.ok(contents.subarray(4096 + 3 * 1024 * 1024 + 100).every((byte) => byte === 0));
  const sparse = await file();
  const holes = new FileDataWriter(sparse.fd, 0);
  holes.write(0, bytes(4096, 5));
  holes.truncate(64 * 1024 * 1024);
  const second = await file();
  const into = new FileDataWriter(second.fd, 0);
  into.clone(0, 64 * 1024 * 1024, holes, 0);
  assert.is(into.size, 64 * 1024 * 1024);
  assert.ok(fstatSync(second.fd).blocks * 512 <= 64 * 1024, 'the holes are not filled in');
  for (const fd of [second.fd, sparse.fd, dense.fd]) closeSync(fd);
});

writer('encoded writes: zlib and zstd (with sector padding), only the unencoded slice asked for', async () => {
  const { name, fd } = await file();
  const data = new FileDataWriter(fd, 0);
  const plain = bytes(128 * 1024, 5);
  data.encodedWrite(0, 1, deflateSync(plain), plain.length, 4096, 8192);
  const padded = Buffer.concat([zstd.compress(plain), Buffer.alloc(3000)]);
  data.encodedWrite(8192, 2, padded, plain.length, 0, plain.length);
  data.flush();
  closeSync(fd);
  const contents = readFileSync(name);
  assert.equal(contents.subarray(0, 8192), plain.subarray(4096, 12288));
  assert.equal(contents.subarray(8192), plain);
  assert.throws(() => new FileDataWriter(fd, 0).encodedWrite(0, 3, Buffer.alloc(10), 4096, 0, 4096), /LZO/);
  assert.throws(
    () => new FileDataWriter(fd, 0).encodedWrite(0, 1, Buffer.alloc(10), 4096, 4000, 4096),
    (error: Error) => error instanceof BadFileData && /an encoded write of bytes 4000\+4096/.test(error.message),
  );
});

writer('an undo log keeps the parent bytes that writes, truncation and holes replace', async () => {
  const { name, fd, directory } = await file(bytes(2 * 1024 * 1024, 9));
  const original = readFileSync(name);
  const view = new ParentFileView(path.join(directory, 'stash'));
  view.startStream(1);
  const node = { bornIn: 0 } as ReceiveNode;
  const data = new FileDataWriter(fd, original.length, (start, end, size) => view.preserve(node, fd, start, end, size));
  data.write(100, bytes(5000, 1));
  data.write(4000, bytes(200_000, 2));
  data.write(1024 * 1024, Buffer.alloc(65536));
  data.truncate(1_500_000);
  data.write(3_000_000, bytes(10, 3));
  const parent = view.reader(node, data);
  const copy = Buffer.alloc(original.length + 10);
  assert.is(parent.read(0, copy, copy.length), original.length, 'the parent ends where it ended');
  assert.equal(copy.subarray(0, original.length), original);
  view.close();
});

writer.run();
