import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createBackup } from './operations.js';
import { MemorySink, memoryRuntime, temporaryDirectory } from './testing.js';

const CONTENT = ['0123456789', 'abcdefghij', 'KLMNOPQRST', 'uvwxyz'];
const STREAM = CONTENT.join('');

async function backup() {
  const sink = new MemorySink('memory');
  const runtime = memoryRuntime([sink], CONTENT);
  const created = await createBackup(runtime, { path: await temporaryDirectory() });
  const { manifest } = await runtime.repository.catalog.resolve(created.id);
  return { runtime, manifest, sink };
}

async function read(reader: { read(start: number, end: number): AsyncIterable<Buffer> }, start: number, end: number): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of reader.read(start, end)) chunks.push(chunk);
  return Buffer.concat(chunks).toString();
}

// ---

const ranges = suite('stream ranges: only the parts that hold a span are fetched');

ranges('spans inside one part, across parts, at the ends; each part fetched once', async () => {
  const { runtime, manifest, sink } = await backup();
  assert.is(manifest.parts.length, 9, '36 bytes in 4-byte parts');
  const reader = runtime.repository.parts.rangeReader(manifest);
  const gets = () => sink.calls.filter((call) => call.startsWith('get data/') && !call.endsWith('index')).length;
  const before = gets();
  assert.is(await read(reader, 13, 15), STREAM.slice(13, 15));
  assert.equal([...reader.fetched], [3]);
  assert.is(await read(reader, 12, 16), STREAM.slice(12, 16), 'the same part again comes from what was kept');
  assert.is(gets() - before, 1);
  assert.is(await read(reader, 6, 23), STREAM.slice(6, 23));
  assert.is(await read(reader, 0, 36), STREAM);
  assert.is(await read(reader, 35, 36), 'z');
  assert.is(await read(reader, 20, 20), '');
  assert.is(reader.fetchedBytes, 36);
});

ranges('a span outside the stream is an error naming the backup', async () => {
  const { runtime, manifest } = await backup();
  const reader = runtime.repository.parts.rangeReader(manifest);
  try {
    await read(reader, 30, 40);
    assert.unreachable('should fail');
  } catch (error) {
    assert.match((error as Error).message, new RegExp(`backup ${manifest.id}: span 30–40 lies outside its stream of 36 bytes`));
  }
});

ranges.run();
