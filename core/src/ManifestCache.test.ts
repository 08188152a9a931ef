import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ManifestCache } from './ManifestCache.js';
import { createBackup } from './operations.js';
import { Catalog } from './Catalog.js';
import { RepositoryKeys } from './RepositoryKeys.js';
import { ErrorCode, RastError } from './errors.js';
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
  const file = (await readdir(directory)).find((name) => name.endsWith('.json'));
  await writeFile(path.join(directory, file!), '{"format":"rast-backup/manifest-cache","manifests":');
  assert.equal(await ids(catalog()), made);
  assert.is(manifestReads().length, 4);
});

cache(
  'the heads come from the summaries; a whole manifest from its copy, checked, and a changed copy is read again from the sink',
  async () => {
    const { sink, ids: made, state, catalog, manifestReads } = await setUp();
    const first = await catalog().entries();
    const whole = first.map((entry) => entry.manifest);
    sink.calls.length = 0;
    const [summaries] = (await readdir(path.join(state, 'manifests'))).filter((name) => name.endsWith('.json'));
    const copies = path.join(state, 'manifests', summaries!.replace(/\.json$/, ''));
    assert.equal((await readdir(copies)).sort(), made.map((id) => `${id}.json`).sort());
    // A copy changed behind the catalog's back: the heads still list, the whole manifest is refused in one line.
    await writeFile(path.join(copies, `${made[0]}.json`), JSON.stringify({ ...whole[0], parts: [] }, null, 2));
    const second = await catalog().entries();
    assert.equal(manifestReads(), []);
    assert.equal(
      second.map((entry) => entry.head.id),
      made,
    );
    assert.equal(second[1]!.manifest, whole[1]);
    try {
      void second[0]!.manifest;
      assert.unreachable('a changed copy was read');
    } catch (error) {
      assert.instance(error, RastError);
      assert.is((error as RastError).code, ErrorCode.MANIFEST_DAMAGED);
      assert.match((error as Error).message, `backup ${made[0]} of sink a: this host's copy of the manifest`);
    }
    // Removed, so the next catalog reads it from the sink again.
    assert.equal(await ids(catalog()), made);
    assert.equal(manifestReads(), [`get ${RepositoryKeys.manifest(made[0]!)}`]);
  },
);

cache('a signature listed otherwise than when the manifest was read makes it read again', async () => {
  const { sink, ids: made, catalog, manifestReads } = await setUp();
  await catalog().entries();
  sink.objects.set(RepositoryKeys.signature(made[1]!), Buffer.from('not a signature'));
  sink.calls.length = 0;
  assert.equal(await ids(catalog()), made);
  assert.equal(manifestReads(), [`get ${RepositoryKeys.manifest(made[1]!)}`]);
});

cache.run();
