import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ManifestCache } from './ManifestCache.js';
import { createBackup } from './operations.js';
import { Catalog } from './Catalog.js';
import { RepositoryKeys } from './RepositoryKeys.js';
import { MemorySink, memoryRuntime, silentLogger, temporaryDirectory } from './testing.js';

const cache = suite('catalog: manifests already read come from the host cache, the sink stays the truth');

async function setUp() {
  const sink = new MemorySink('a');
  const runtime = memoryRuntime([sink], ['0123456789']);
  const source = await temporaryDirectory();
  const first = await createBackup(runtime, { path: source });
  const second = await createBackup(runtime, { path: source, parent: 'latest' });
  const state = await temporaryDirectory();
  const catalog = () => new Catalog([sink], silentLogger(), new ManifestCache(state));
  sink.calls.length = 0;
  const manifestReads = () => sink.calls.filter((call) => call.startsWith(`get ${RepositoryKeys.manifestPrefix}`));
  return { sink, runtime, source, ids: [first.id, second.id], state, catalog, manifestReads };
}

const ids = async (catalog: Catalog) => (await catalog.entries()).map((entry) => entry.manifest.id);

cache('a second catalog reads no manifest, and a new backup is the only one read', async () => {
  const { sink, runtime, source, ids: made, catalog, manifestReads } = await setUp();
  assert.equal(await ids(catalog()), made);
  assert.is(manifestReads().length, 2);
  sink.calls.length = 0;
  assert.equal(await ids(catalog()), made);
  assert.equal(manifestReads(), []);
  const third = await createBackup(runtime, { path: source, parent: 'latest' });
  sink.calls.length = 0;
  assert.equal(await ids(catalog()), [...made, third.id]);
  assert.equal(manifestReads(), [`get ${RepositoryKeys.manifest(third.id)}`]);
});

cache('a manifest gone from the sink is gone from the catalog; one of another size is read again', async () => {
  const { sink, ids: made, catalog, manifestReads } = await setUp();
  await catalog().entries();
  sink.objects.delete(RepositoryKeys.manifest(made[0]!));
  assert.equal(await ids(catalog()), [made[1]]);
  const key = RepositoryKeys.manifest(made[1]!);
  sink.objects.set(key, sink.objects.get(key)!.subarray(0, 40));
  sink.calls.length = 0;
  assert.equal(await ids(catalog()), []);
  assert.equal(manifestReads(), [`get ${key}`]);
});

cache('a damaged cache file costs only the reads', async () => {
  const { ids: made, state, catalog, manifestReads } = await setUp();
  await catalog().entries();
  const directory = path.join(state, 'manifests');
  const [file] = await readdir(directory);
  await writeFile(path.join(directory, file!), '{"format":"rast-backup/manifest-cache","manifests":');
  assert.equal(await ids(catalog()), made);
  assert.is(manifestReads().length, 4);
});

cache.run();
