import { closeSync, openSync, readdirSync, writeSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ErrorCode, RastError } from './errors.js';
import { createBackup } from './operations.js';
import { ManifestCache } from './ManifestCache.js';
import { ParentResolver } from './ParentResolver.js';
import { Repository } from './Repository.js';
import { RepositoryKeys } from './RepositoryKeys.js';
import { MemorySink, memoryRuntime, silentLogger, temporaryDirectory } from './testing.js';

const parents = suite('ParentResolver');

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as RastError).code;
  }
  throw new Error('expected a rejection');
}

parents('latest: the latest backup of the same source; none yet is a full backup, with a warning', async () => {
  const sink = new MemorySink();
  const [source, other] = [await temporaryDirectory(), await temporaryDirectory()];
  const log = silentLogger();
  const runtime = { ...memoryRuntime([sink], ['x']), log };
  const resolver = new ParentResolver(runtime);
  assert.is(await resolver.resolve('latest', source), undefined);
  assert.is(log.warnings.length, 1);
  const first = await createBackup(runtime, { path: source });
  const second = await createBackup(runtime, { path: source });
  await createBackup(runtime, { path: other });
  runtime.repository.catalog.invalidate();
  assert.is((await resolver.resolve('latest', source))?.id, second.id);
  assert.is.not(first.id, second.id);
});

parents('latest on a broken chain is a full backup; the parent hook may make it one too', async () => {
  const sink = new MemorySink();
  const source = await temporaryDirectory();
  const log = silentLogger();
  const runtime = { ...memoryRuntime([sink], ['x']), log };
  const full = await createBackup(runtime, { path: source });
  await createBackup(runtime, { path: source, parent: full.id });
  sink.objects.delete(RepositoryKeys.manifest(full.id));
  runtime.repository.catalog.invalidate();
  const resolver = new ParentResolver(runtime);
  assert.is(await resolver.resolve('latest', source), undefined);
  assert.match(log.warnings.at(-1)!, full.id);

  const fresh = memoryRuntime([new MemorySink()], ['x']);
  await createBackup(fresh, { path: source });
  fresh.pipeline.hooks.parent.tap('test-full-every', () => null);
  assert.is(await new ParentResolver(fresh).resolve('latest', source), undefined);
});

parents('an explicit parent must be of the same source with a whole chain; an empty one is a usage error', async () => {
  const sink = new MemorySink();
  const [source, other] = [await temporaryDirectory(), await temporaryDirectory()];
  const runtime = memoryRuntime([sink], ['x']);
  const full = await createBackup(runtime, { path: source });
  const child = await createBackup(runtime, { path: source, parent: full.id });
  const resolver = new ParentResolver(runtime);
  assert.is((await resolver.resolve(child.id.slice(0, -2), source))?.id, child.id);
  assert.is(await codeOf(resolver.resolve(child.id, other)), ErrorCode.PARENT_INVALID);
  assert.is(await codeOf(resolver.resolve(' ', source)), ErrorCode.USAGE);
  sink.objects.delete(RepositoryKeys.manifest(full.id));
  runtime.repository.catalog.invalidate();
  assert.is(await codeOf(resolver.resolve(child.id, source)), ErrorCode.PARENT_INVALID);
});

parents('an explicit parent reads the heads of its chain, not every whole manifest above it', async () => {
  const sink = new MemorySink();
  const [source, state] = [await temporaryDirectory(), await temporaryDirectory()];
  const withCache = () => {
    const runtime = memoryRuntime([sink], ['x']);
    const decoder = (name: string) => runtime.pipeline.hooks.untransform.get(name)?.call();
    return { ...runtime, repository: new Repository([sink], decoder, runtime.log, 2, new ManifestCache(state)) };
  };
  const making = withCache();
  const full = await createBackup(making, { path: source });
  const middle = await createBackup(making, { path: source, parent: full.id });
  const last = await createBackup(making, { path: source, parent: middle.id });
  await making.repository.catalog.entries();
  // The host's copies of the ancestors' whole manifests spoilt: reading one would throw.
  const [owner] = readdirSync(path.join(state, 'manifests')).filter((name) => !name.endsWith('.json'));
  const { cached } = await new ManifestCache(state).open(sink);
  for (const id of [full.id, middle.id]) {
    const { place } = cached.get(id)!;
    const pack = openSync(path.join(state, 'manifests', owner!, place.pack), 'r+');
    writeSync(pack, Buffer.alloc(place.length, 'x'), 0, place.length, place.offset);
    closeSync(pack);
  }
  const runtime = withCache();
  assert.is((await new ParentResolver(runtime).resolve(last.id, source))?.id, last.id);
  assert.is((await new ParentResolver(runtime).resolve('latest', source))?.id, last.id);
  assert.is((await createBackup(runtime, { path: source, parent: last.id })).parent, last.id);
});

parents('checkStillExists reads the catalog afresh: a parent deleted since is PARENT_INVALID', async () => {
  const sink = new MemorySink();
  const runtime = memoryRuntime([sink], ['x']);
  const full = await createBackup(runtime, { path: await temporaryDirectory() });
  const resolver = new ParentResolver(runtime);
  await resolver.checkStillExists(full, 'b-next');
  await runtime.repository.catalog.entries();
  sink.objects.delete(RepositoryKeys.manifest(full.id));
  assert.is(await codeOf(resolver.checkStillExists(full, 'b-next')), ErrorCode.PARENT_INVALID);
});

parents('the parent index is read from the repository', async () => {
  const runtime = memoryRuntime([new MemorySink()], ['x']);
  const full = await createBackup(runtime, { path: await temporaryDirectory() });
  assert.is((await runtime.repository.indexes.open(full)).backupId, full.id);
});

parents.run();
