import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createBackup, deleteBackup, restoreBackup, verifyBackup } from './operations.js';
import { ErrorCode, RastError } from './errors.js';
import { Pipeline } from './Pipeline.js';
import { cutIntoParts } from './PartSplitter.js';
import { RepositoryKeys } from './RepositoryKeys.js';
import type { Runtime } from './Runtime.js';
import { byteTransform } from './ByteStages.fixture.js';
import { SourceStage, TransformStage } from './stages.js';
import { MemorySink, memoryRuntime, silentLogger, temporaryDirectory, textFormat } from './testing.js';
import type { OperationEvent } from './types.js';

const restored: string[] = [];

const stages = new URL('./ByteStages.fixture.js', import.meta.url).href;
const decoderStages = new URL('./ByteDecoderStages.fixture.js', import.meta.url).href;
const byteWorker = (op: string) => ({ module: stages, options: { op }, bound: (size: number) => size });
const byteDecoder = (op: string) => ({ worker: { module: decoderStages, options: { op } } });

function runtimeWith(sinks: MemorySink[], content: string[], extra: (pipeline: Pipeline) => void = () => {}): Runtime {
  const runtime = memoryRuntime(sinks, content, textFormat(restored));
  const { pipeline } = runtime;
  // Tapped encrypt-first on purpose: the core must order transforms by stage, not by tap order.
  pipeline.hooks.transforms.tap('test-encrypt', (list) => [
    ...list,
    { name: 'xor', plugin: 'x@1', stage: TransformStage.ENCRYPT, params: {}, worker: byteWorker('xor') },
  ]);
  pipeline.hooks.transforms.tap('test-compress', (list) => [
    ...list,
    { name: 'reverse', plugin: 'r@1', stage: TransformStage.COMPRESS, params: {}, worker: byteWorker('reverse') },
  ]);
  pipeline.hooks.untransform.for('xor').tap('test-encrypt', () => byteDecoder('xor'));
  pipeline.hooks.untransform.for('reverse').tap('test-compress', () => byteDecoder('reverse'));
  extra(pipeline);
  return runtime;
}

// ---

const create = suite('create');

create('transforms run in stage order whatever order they were tapped in', async () => {
  const sink = new MemorySink();
  const runtime = runtimeWith([sink], ['abcdefgh', 'ij']);
  const manifest = await createBackup(runtime, { path: await temporaryDirectory() });
  assert.equal(
    manifest.transforms.map((transform) => transform.name),
    ['reverse', 'xor'],
  );
  assert.equal(
    manifest.parts.map((part) => part.size),
    [4, 4, 2],
  );
  const stored = await sink.get(manifest.parts[0]!.key);
  assert.equal(stored, byteTransform('xor', byteTransform('reverse', Buffer.from('abcd'))));
});

create('the manifest is written last, after every part and the index', async () => {
  const sink = new MemorySink();
  const manifest = await createBackup(runtimeWith([sink], ['0123456789']), { path: await temporaryDirectory() });
  assert.is(sink.calls.at(-1), `put ${RepositoryKeys.manifest(manifest.id)}`);
  assert.is(sink.calls.filter((call) => call.startsWith('put')).length, 3 + 1 + 1);
  assert.equal([...sink.durable], [RepositoryKeys.manifest(manifest.id)]);
});

create('every sink gets every part; list shows both sinks', async () => {
  const first = new MemorySink('first');
  const second = new MemorySink('second');
  const runtime = runtimeWith([first, second], ['hello world']);
  const manifest = await createBackup(runtime, { path: await temporaryDirectory() });
  const [entry] = await runtime.repository.catalog.entries();
  assert.equal(entry!.sinks, ['first', 'second']);
  for (const part of manifest.parts) {
    assert.ok(first.objects.has(part.key));
    assert.ok(second.objects.has(part.key));
  }
});

create('a sink failing mid-way leaves no manifest and no parts, and names the sink', async () => {
  const sink = new MemorySink('flaky');
  sink.failPutsMatching = /000002\.part$/;
  const runtime = runtimeWith([sink], ['0123456789abcdef']);
  try {
    await createBackup(runtime, { path: await temporaryDirectory() });
    assert.unreachable('create should fail');
  } catch (error) {
    assert.instance(error, RastError);
    assert.is((error as RastError).code, ErrorCode.SINK_FAILED);
    assert.match((error as Error).message, /flaky/);
  }
  assert.is(sink.objects.size, 0);
  assert.equal(await runtime.repository.catalog.entries(), []);
});

create('with several sinks, one failing mid-way: committed in the others, named, and absent from it', async () => {
  const good = new MemorySink('good');
  const flaky = new MemorySink('flaky');
  flaky.failPutsMatching = /000001\.part$/;
  const runtime = runtimeWith([good, flaky], ['0123456789abcdef']);
  let failure: RastError | undefined;
  await createBackup(runtime, { path: await temporaryDirectory() }).catch((error: RastError) => (failure = error));
  assert.is(failure?.code, ErrorCode.SINK_FAILED);
  assert.match(failure!.message, /committed in good only: .*flaky/);
  assert.equal(failure!.facts.failed, ['flaky']);
  const id = failure!.facts.backup as string;
  assert.ok(good.objects.has(RepositoryKeys.manifest(id)));
  assert.is(flaky.objects.size, 0, 'the failed sink keeps neither manifest nor parts');
  const [entry] = await runtime.repository.catalog.entries();
  assert.equal([entry!.manifest.id, entry!.sinks], [id, ['good']]);
  assert.match((runtime.log as ReturnType<typeof silentLogger>).warnings.join('\n'), /flaky.*goes on in good only/);
});

create('a sink that cannot be listed is left out of the catalog with a warning; deleting then refuses', async () => {
  const good = new MemorySink('good');
  const down = new MemorySink('down');
  const runtime = runtimeWith([good, down], ['abc']);
  const manifest = await createBackup(runtime, { path: await temporaryDirectory() });
  down.list = async function* () {
    throw new Error('connection refused');
  };
  runtime.repository.catalog.invalidate();
  const entries = await runtime.repository.catalog.entries();
  assert.equal(
    entries.map((entry) => entry.sinks),
    [['good']],
  );
  assert.match((runtime.log as ReturnType<typeof silentLogger>).warnings.join('\n'), /sink down could not be read.*connection refused/);
  try {
    await runtime.repository.graph.dependents(manifest.id);
    assert.unreachable();
  } catch (error) {
    assert.is((error as RastError).code, ErrorCode.SINK_FAILED);
  }
  good.list = down.list;
  runtime.repository.catalog.invalidate();
  await runtime.repository.catalog.entries().then(
    () => assert.unreachable(),
    (error: RastError) => assert.is(error.code, ErrorCode.SINK_FAILED),
  );
});

create('lifecycle hooks see started then succeeded, or started then failed', async () => {
  const events: string[] = [];
  const record = (pipeline: Pipeline) => {
    pipeline.hooks.started.tap('test-notify', (event: OperationEvent) => void events.push(`started ${event.operation}`));
    pipeline.hooks.succeeded.tap('test-notify', (event: OperationEvent) => void events.push(`succeeded ${event.operation}`));
    pipeline.hooks.failed.tap('test-notify', (event: OperationEvent) => void events.push(`failed ${event.operation}`));
  };
  const sink = new MemorySink();
  await createBackup(runtimeWith([sink], ['x'], record), { path: await temporaryDirectory() });
  sink.failPutsMatching = /./;
  await createBackup(runtimeWith([sink], ['x'], record), { path: await temporaryDirectory() }).catch(() => {});
  assert.equal(events, ['started create', 'succeeded create', 'started create', 'failed create']);
});

create('a failing notification does not fail the backup', async () => {
  const runtime = runtimeWith([new MemorySink()], ['x'], (pipeline) => {
    pipeline.hooks.succeeded.tapPromise('broken-notify', async () => {
      throw new Error('mail server down');
    });
  });
  const manifest = await createBackup(runtime, { path: await temporaryDirectory() });
  assert.ok(manifest.id);
  assert.match((runtime.log as ReturnType<typeof silentLogger>).warnings.join('\n'), /mail server down/);
});

create('an error thrown in a tap names the plugin and the hook', async () => {
  const runtime = runtimeWith([new MemorySink()], ['x'], (pipeline) => {
    pipeline.hooks.transforms.tap('rast-backup-plugin-broken', () => {
      throw new Error('boom');
    });
  });
  try {
    await createBackup(runtime, { path: await temporaryDirectory() });
    assert.unreachable();
  } catch (error) {
    assert.is((error as RastError).code, ErrorCode.PLUGIN_FAILED);
    assert.match((error as Error).message, /rast-backup-plugin-broken.*transforms.*boom/);
  }
  assert.equal([...runtime.pipeline.taps.get('rast-backup-plugin-broken')!], ['transforms']);
});

create('a failure after the commit (releasing the snapshot) never removes what the manifest points at', async () => {
  const sink = new MemorySink();
  const runtime = runtimeWith([sink], ['0123456789'], (pipeline) => {
    pipeline.hooks.snapshot.tapPromise({ name: 'test-fragile-source', stage: SourceStage.SPECIFIC }, async (request) => ({
      path: request.path,
      source: request.path,
      kind: 'test',
      format: 'text',
      atomic: true,
      exclude: [],
      details: { content: ['0123456789'] },
      release: async (outcome) => {
        if (outcome === 'committed') throw new Error('cannot delete the old snapshot');
      },
    }));
  });
  const manifest = await createBackup(runtime, { path: await temporaryDirectory() });
  assert.match((runtime.log as ReturnType<typeof silentLogger>).warnings.join('\n'), /committed, but releasing its snapshot failed/);
  for (const part of manifest.parts) assert.ok(sink.objects.has(part.key));
  await verifyBackup(runtime, { backup: manifest.id });
});

create.run();

// ---

const chain = suite('restore, verify, delete');

chain('restore reads the whole chain, oldest first, undoing transforms', async () => {
  const sink = new MemorySink();
  const directory = await temporaryDirectory();
  const full = await createBackup(runtimeWith([sink], ['full backup']), { path: directory });
  const incremental = await createBackup(runtimeWith([sink], ['increment']), { path: directory, parent: 'latest' });
  assert.is(incremental.parent, full.id);
  restored.length = 0;
  await restoreBackup(runtimeWith([sink], []), { backup: incremental.id.slice(0, -1), destination: await temporaryDirectory() });
  assert.equal(restored, ['full backup', 'increment']);
});

chain('a part damaged in one sink is read from the other', async () => {
  const first = new MemorySink('first');
  const second = new MemorySink('second');
  const manifest = await createBackup(runtimeWith([first, second], ['0123456789']), { path: await temporaryDirectory() });
  first.objects.get(manifest.parts[1]!.key)![0] ^= 1;
  restored.length = 0;
  await restoreBackup(runtimeWith([first, second], []), { backup: 'latest', destination: await temporaryDirectory() });
  assert.equal(restored, ['0123456789']);
  try {
    await verifyBackup(runtimeWith([first, second], []), { backup: manifest.id });
    assert.unreachable();
  } catch (error) {
    assert.is((error as RastError).code, ErrorCode.VERIFY_FAILED);
    assert.match((error as Error).message, new RegExp(`${manifest.id}.*part 2 of 3.*first`));
  }
});

chain('delete refuses a backup another depends on, then removes everything, a temporary of its manifest too', async () => {
  const sink = new MemorySink();
  const directory = await temporaryDirectory();
  const full = await createBackup(runtimeWith([sink], ['a']), { path: directory });
  const child = await createBackup(runtimeWith([sink], ['b']), { path: directory, parent: full.id });
  // What a sink lists once the writer of a manifest's copy was killed mid-write.
  await sink.put(`${RepositoryKeys.manifest(child.id)}.tmp-1-0badc0de`, Buffer.from('{"half":'));
  try {
    await deleteBackup(runtimeWith([sink], []), full.id);
    assert.unreachable();
  } catch (error) {
    assert.is((error as RastError).code, ErrorCode.BACKUP_DEPENDED_ON);
    assert.match((error as Error).message, child.id);
  }
  await deleteBackup(runtimeWith([sink], []), child.id);
  await deleteBackup(runtimeWith([sink], []), full.id);
  assert.is(sink.objects.size, 0);
});

chain('a parent deleted while its incremental is being made: the incremental is not committed, and its parts are removed', async () => {
  const sink = new MemorySink();
  const directory = await temporaryDirectory();
  const full = await createBackup(runtimeWith([sink], ['a']), { path: directory });
  const runtime = runtimeWith([sink], ['bcdefgh'], (pipeline) => {
    pipeline.hooks.partStored.tap('test-delete-parent', () => void sink.objects.delete(RepositoryKeys.manifest(full.id)));
  });
  try {
    await createBackup(runtime, { path: directory, parent: full.id });
    assert.unreachable();
  } catch (error) {
    assert.is((error as RastError).code, ErrorCode.PARENT_INVALID);
    assert.match((error as Error).message, `parent ${full.id} was deleted while backup`);
  }
  assert.equal(
    [...sink.objects.keys()].filter((key) => !key.startsWith(RepositoryKeys.dataPrefix(full.id))),
    [],
  );
});

chain('parts removed while the backup is being made (a prune elsewhere): nothing is committed, and the error says why', async () => {
  const sink = new MemorySink();
  const runtime = runtimeWith([sink], ['abcdefghij'], (pipeline) => {
    pipeline.hooks.partStored.tap('test-collect', ({ backupId, seq }) => {
      if (seq === 0) sink.objects.delete(RepositoryKeys.part(backupId, 0));
    });
  });
  try {
    await createBackup(runtime, { path: await temporaryDirectory() });
    assert.unreachable();
  } catch (error) {
    assert.is((error as RastError).code, ErrorCode.SINK_FAILED);
    assert.match(
      (error as Error).message,
      /1 of the 4 objects of backup \S+ vanished while it was being made \(data\/\S+\/000000\.part\); a prune may have taken them/,
    );
  }
  assert.equal([...sink.objects.keys()], []);
});

chain.run();

// ---

const parts = suite('cutIntoParts');

parts('cuts any chunking into parts of exactly the part size', async () => {
  const chunks = [Buffer.from('a'), Buffer.from('bcdefgh'), Buffer.alloc(0), Buffer.from('ijklmnopq')];
  const result: string[] = [];
  for await (const part of cutIntoParts(
    (async function* () {
      yield* chunks;
    })(),
    5,
  ))
    result.push(part.toString());
  assert.equal(result, ['abcde', 'fghij', 'klmno', 'pq']);
});

parts('an empty stream makes no parts', async () => {
  const result: Buffer[] = [];
  for await (const part of cutIntoParts((async function* () {})(), 5)) result.push(part);
  assert.is(result.length, 0);
});

parts.run();
