import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ErrorCode, RastError } from './errors.js';
import { createBackup } from './operations.js';
import { partLabel } from './PartReader.js';
import { partMissing } from './diagnostics/index.js';
import { MemorySink, memoryRuntime, temporaryDirectory } from './testing.js';

/** A memory sink that reads into the caller's memory (Sink.readInto), recording that memory. */
class SlotSink extends MemorySink {
  readonly slots = new Set<ArrayBufferLike>();
  async readInto(key: string, into: Buffer): Promise<number> {
    this.calls.push(`readInto ${key}`);
    this.slots.add(into.buffer);
    const data = this.objects.get(key);
    if (!data) throw partMissing(key, this);
    if (data.length <= into.length) data.copy(into);
    return data.length;
  }
}

const reader = suite('part reader: every read checked, named by code when no sink has a good copy');

async function setUp() {
  const a = new MemorySink('a');
  const b = new MemorySink('b');
  const runtime = memoryRuntime([a, b], ['0123456789']);
  const manifest = await createBackup(runtime, { path: await temporaryDirectory() });
  return { a, b, manifest, parts: runtime.repository.parts };
}

async function failure(call: Promise<unknown>): Promise<ErrorCode> {
  const error = await call.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  assert.instance(error, RastError, 'the read succeeded, though no good copy is left');
  return (error as RastError).code;
}

reader('a part gone from every sink is PART_MISSING; damaged in one and gone from the other, PART_DAMAGED', async () => {
  const { a, b, manifest, parts } = await setUp();
  const part = manifest.parts[1]!;
  assert.is((await parts.readPart(manifest, 1)).toString(), '4567');
  b.objects.delete(part.key);
  assert.is((await parts.readPlain(manifest, part, partLabel(manifest, 1))).toString(), '4567');
  a.objects.delete(part.key);
  assert.is(await failure(parts.readPlain(manifest, part, partLabel(manifest, 1))), ErrorCode.PART_MISSING);
  a.objects.set(part.key, Buffer.from('4568'));
  assert.is(await failure(parts.readPlain(manifest, part, partLabel(manifest, 1))), ErrorCode.PART_DAMAGED);
});

reader('readPlain checks the plaintext size the manifest records', async () => {
  const { manifest, parts } = await setUp();
  const part = manifest.parts[0]!;
  assert.is((await parts.readPlain(manifest, part, 'part 1')).toString(), '0123');
  assert.is(await failure(parts.readPlain(manifest, { ...part, size: part.size + 1 }, 'part 1')), ErrorCode.PART_DAMAGED);
});

reader('a transform no loaded plugin decodes is TRANSFORM_FAILED before anything is read', async () => {
  const { a, manifest, parts } = await setUp();
  const encrypted = { ...manifest, transforms: [{ name: 'rot13', stage: 0, plugin: 'rast-backup-plugin-rot13@1.0.0', params: {} }] };
  a.calls.length = 0;
  assert.is(await failure(parts.checkDecodable(encrypted)), ErrorCode.TRANSFORM_FAILED);
  assert.equal(a.calls, []);
  assert.is(await failure(parts.readPart(encrypted, 0)), ErrorCode.TRANSFORM_FAILED);
});

reader('a whole stream is decoded into concurrency + 1 buffers, reused once the next chunk is asked for', async () => {
  const a = new MemorySink('a');
  const runtime = memoryRuntime([a], ['0123456789abcdefghijklmnopqrstuvwxyz']);
  const manifest = await createBackup(runtime, { path: await temporaryDirectory() });
  assert.is(manifest.parts.length, 9);
  const memories = new Set<ArrayBufferLike>();
  let text = '';
  for await (const chunk of runtime.repository.parts.openStream(manifest)) {
    memories.add(chunk.buffer);
    text += chunk.toString();
  }
  assert.is(text, '0123456789abcdefghijklmnopqrstuvwxyz');
  assert.is(memories.size, runtime.settings.concurrency + 1);
});

reader('stored objects are read into reused memory: a copy too long or damaged there is passed over for the next sink', async () => {
  const a = new SlotSink('a');
  const b = new SlotSink('b');
  const c = new MemorySink('c');
  const runtime = memoryRuntime([a, b, c], ['0123456789abcdefghijklmnopqrstuvwxyz']);
  const manifest = await createBackup(runtime, { path: await temporaryDirectory() });
  let text = '';
  const memories = new Set<ArrayBufferLike>();
  for await (const chunk of runtime.repository.parts.openStream(manifest)) {
    memories.add(chunk.buffer);
    text += chunk.toString();
  }
  assert.is(text, '0123456789abcdefghijklmnopqrstuvwxyz');
  assert.ok(a.slots.size <= runtime.settings.concurrency + 1, `${a.slots.size} memories for ${manifest.parts.length} parts`);
  // No transform to undo (each decodes in place): each object was read into the memory its part is decoded in.
  assert.ok(
    [...a.slots].every((memory) => memories.has(memory)),
    'a stored object read into memory of its own',
  );
  assert.ok([...a.slots].every((memory) => memory instanceof SharedArrayBuffer));
  const part = manifest.parts[1]!;
  const stored = a.objects.get(part.key)!;
  a.objects.set(part.key, Buffer.concat([stored, Buffer.from('!')]));
  b.objects.set(part.key, Buffer.from(stored).fill(0x21, 0, 1));
  c.calls.length = 0;
  assert.is((await runtime.repository.parts.readPlain(manifest, part, partLabel(manifest, 1))).toString(), '4567');
  assert.equal(c.calls, [`get ${part.key}`]);
  c.objects.delete(part.key);
  assert.is(await failure(runtime.repository.parts.readPlain(manifest, part, partLabel(manifest, 1))), ErrorCode.PART_DAMAGED);
});

reader.run();
