import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ErrorCode, RastError } from './errors.js';
import { manifestBytes, type Manifest, type PartRecord } from './Manifest.js';
import { RepositoryKeys } from './RepositoryKeys.js';
import { SinkFanout } from './SinkFanout.js';
import { MemorySink, silentLogger } from './testing.js';

const fanout = suite('SinkFanout');
const id = 'b-test';
const unsigned = (manifest: Manifest) => ({ manifest, data: manifestBytes(manifest) });

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as RastError).code;
  }
  throw new Error('expected a rejection');
}

const record = (key: string, data: Buffer): PartRecord => ({ key, size: data.length, storedSize: data.length, sha256: '' });
const manifest = { id } as Manifest;

fanout('puts to every sink; commits the manifest durably in each, the parts not', async () => {
  const [first, second] = [new MemorySink('first'), new MemorySink('second')];
  const store = new SinkFanout([first, second], id, silentLogger());
  const part = Buffer.from('part');
  await store.put(RepositoryKeys.part(id, 0), part);
  await store.flush();
  await store.checkStillStored([record(RepositoryKeys.part(id, 0), part)]);
  await store.commit(unsigned(manifest));
  for (const sink of [first, second]) {
    assert.ok(sink.objects.has(RepositoryKeys.part(id, 0)));
    assert.equal([...sink.durable], [RepositoryKeys.manifest(id)]);
  }
  assert.is(store.partialCommit(), undefined);
});

fanout('a failing sink is dropped with a warning; the others carry on and the backup is committed in them only', async () => {
  const [first, second] = [new MemorySink('first'), new MemorySink('second')];
  first.failPutsMatching = /part/;
  const log = silentLogger();
  const store = new SinkFanout([first, second], id, log);
  await store.put(RepositoryKeys.part(id, 0), Buffer.from('a'));
  await store.put(RepositoryKeys.part(id, 1), Buffer.from('b'));
  assert.equal(store.working, [second]);
  assert.is(log.warnings.length, 1);
  assert.match(log.warnings[0]!, 'first');
  await store.commit(unsigned(manifest));
  assert.not.ok(first.objects.has(RepositoryKeys.manifest(id)));
  assert.ok(second.objects.has(RepositoryKeys.manifest(id)));
  const partial = store.partialCommit();
  assert.is(partial?.code, ErrorCode.SINK_FAILED);
  assert.equal(partial?.facts, { backup: id, committed: ['second'], failed: ['first'] });
});

fanout('no sink left: put throws SINK_FAILED; removeWritten removes what was written from every sink', async () => {
  const [first, second] = [new MemorySink('first'), new MemorySink('second')];
  second.failPutsMatching = /000001/;
  first.failPutsMatching = /000002/;
  const store = new SinkFanout([first, second], id, silentLogger());
  await store.put(RepositoryKeys.part(id, 0), Buffer.from('a'));
  await store.put(RepositoryKeys.part(id, 1), Buffer.from('b'));
  assert.equal(store.working, [first]);
  assert.is(await codeOf(store.put(RepositoryKeys.part(id, 2), Buffer.from('c'))), ErrorCode.SINK_FAILED);
  assert.is(await codeOf(store.put(RepositoryKeys.part(id, 3), Buffer.from('d'))), ErrorCode.SINK_FAILED);
  assert.equal(await store.removeWritten(), { written: 4, kept: 0 });
  assert.is(first.objects.size + second.objects.size, 0);
});

fanout('a sink that lost an object before the commit is dropped and gets no manifest', async () => {
  const [first, second] = [new MemorySink('first'), new MemorySink('second')];
  const store = new SinkFanout([first, second], id, silentLogger());
  const part = Buffer.from('part');
  await store.put(RepositoryKeys.part(id, 0), part);
  first.objects.delete(RepositoryKeys.part(id, 0));
  await store.checkStillStored([record(RepositoryKeys.part(id, 0), part)]);
  assert.equal(store.working, [second]);
  second.objects.delete(RepositoryKeys.part(id, 0));
  assert.is(await codeOf(store.checkStillStored([record(RepositoryKeys.part(id, 0), part)])), ErrorCode.SINK_FAILED);
});

fanout('a sink whose flush fails is dropped; after the commit, cleanUp removes its objects', async () => {
  const [first, second] = [new MemorySink('first'), new MemorySink('second')];
  Object.assign(first, { flush: async () => Promise.reject(new Error('fsync failed')) });
  const store = new SinkFanout([first, second], id, silentLogger());
  await store.put(RepositoryKeys.part(id, 0), Buffer.from('a'));
  await store.flush();
  assert.equal(store.working, [second]);
  await store.commit(unsigned(manifest));
  await store.cleanUp();
  assert.is(first.objects.size, 0);
  assert.is(second.objects.size, 2);
});

fanout('a manifest write that fails drops the sink and deletes its copy', async () => {
  const [first, second] = [new MemorySink('first'), new MemorySink('second')];
  first.failPutsMatching = /backups\//;
  const store = new SinkFanout([first, second], id, silentLogger());
  await store.commit(unsigned(manifest));
  assert.ok(first.calls.includes(`delete ${RepositoryKeys.manifest(id)}`));
  assert.equal(store.working, [second]);
  second.failPutsMatching = /backups\//;
  assert.is(await codeOf(new SinkFanout([second], id, silentLogger()).commit(unsigned(manifest))), ErrorCode.SINK_FAILED);
});

fanout.run();
