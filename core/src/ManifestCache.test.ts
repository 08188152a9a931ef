import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
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

/** The packs of whole manifests in a state directory. */
async function packFiles(state: string): Promise<string[]> {
  const directory = path.join(state, 'manifests');
  const owners = (await readdir(directory, { withFileTypes: true })).filter((entry) => entry.isDirectory());
  const files = [];
  for (const owner of owners)
    for (const name of await readdir(path.join(directory, owner.name)))
      if (name.endsWith('.pack')) files.push(path.join(directory, owner.name, name));
  return files.sort();
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
  'the heads come from the summaries; a whole manifest from its pack, checked, and a changed copy is read again from the sink',
  async () => {
    const { sink, ids: made, state, catalog, manifestReads } = await setUp();
    const first = await catalog().entries();
    const whole = first.map((entry) => entry.manifest);
    sink.calls.length = 0;
    const packs = await packFiles(state);
    assert.is(packs.length, 1, 'one pack, not a file per manifest');
    // A copy changed behind the catalog's back: the heads still list, the whole manifest is refused in one line.
    const data = await readFile(packs[0]!);
    const at = data.indexOf(Buffer.from(made[0]!));
    data[at] = data[at]! ^ 1;
    await writeFile(packs[0]!, data);
    const second = await catalog().entries();
    assert.equal(manifestReads(), []);
    assert.equal(
      second.map((entry) => entry.head.id),
      made,
    );
    try {
      for (const entry of second) void entry.manifest;
      assert.unreachable('a changed copy was read');
    } catch (error) {
      assert.instance(error, RastError);
      assert.is((error as RastError).code, ErrorCode.MANIFEST_DAMAGED);
      assert.match((error as Error).message, `of sink a: this host's copy of the manifest`);
      assert.not.match((error as Error).message, '\n');
    }
    // Its summary is dropped, so the next catalog reads it from the sink again.
    assert.equal(await ids(catalog()), made);
    assert.is(manifestReads().length, 1);
    assert.equal(
      (await catalog().entries()).map((entry) => entry.manifest),
      whole,
    );
  },
);

cache('a process saving the cache never removes what another one saved after it listed (two catalogs interleaved)', async () => {
  const { sink, runtime, source, ids: made, state, catalog, manifestReads } = await setUp();
  await catalog().entries();
  // The first catalog lists the sink, then waits (as a slow `list` beside a timer's `create` would).
  let listedGate!: () => void;
  const listed = new Promise<void>((resolve) => (listedGate = resolve));
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const slow = Object.create(sink) as MemorySink;
  slow.list = async function* (prefix: string) {
    yield* sink.list(prefix);
    listedGate();
    await held;
  };
  const early = new Catalog([slow], silentLogger(), new ManifestCache(state));
  const first = early.entries();
  await listed;
  // Meanwhile a backup is made and another catalog reads it and saves it.
  const third = await createBackup(runtime, { path: source, parent: 'latest' });
  const late = await catalog().entries();
  assert.equal(
    late.map((entry) => entry.head.id),
    [...made, third.id],
  );
  // The first one saves what it saw: the new backup's copy stays, for the catalog that holds it and for the next.
  release();
  assert.equal(
    (await first).map((entry) => entry.head.id),
    made,
  );
  assert.is(late[2]!.manifest.id, third.id);
  sink.calls.length = 0;
  assert.equal(await ids(catalog()), [...made, third.id]);
  assert.equal(manifestReads(), []);
});

cache('a backup deleted from the sink leaves the cache; packs mostly dead are compacted, and a reader keeps its copies', async () => {
  const { sink, runtime, source, state, catalog, manifestReads } = await setUp();
  for (let n = 0; n < 4; n++) {
    await createBackup(runtime, { path: source, parent: 'latest' });
    await catalog().entries();
  }
  const before = await packFiles(state);
  assert.is(before.length, 4);
  const reader = await catalog().entries();
  // Deleting all but the last backup leaves every pack but one mostly dead.
  const all = reader.map((entry) => entry.head.id);
  for (const id of all.slice(0, -1)) sink.objects.delete(RepositoryKeys.manifest(id));
  assert.equal(await ids(catalog()), all.slice(-1));
  const after = await packFiles(state);
  assert.ok(after.length <= 2, `${after.length} packs left`);
  assert.ok(
    before.some((file) => !after.includes(file)),
    'a pack was removed',
  );
  // The reader that began before the compaction still reads every copy it was handed.
  assert.equal(
    reader.map((entry) => entry.manifest.id),
    all,
  );
  sink.calls.length = 0;
  assert.equal(await ids(catalog()), all.slice(-1));
  assert.equal(manifestReads(), []);
});

cache('a cache of version 4 (a file per manifest) is rebuilt, and its files removed', async () => {
  const { state, ids: made, catalog, manifestReads } = await setUp();
  await catalog().entries();
  const directory = path.join(state, 'manifests');
  const summaries = (await readdir(directory)).find((name) => name.endsWith('.json'))!;
  const owner = path.join(directory, summaries.replace(/\.json$/, ''));
  await writeFile(path.join(directory, summaries), JSON.stringify({ format: 'rast-backup/manifest-cache/4', shared: [], backups: [] }));
  for (const id of made) await writeFile(path.join(owner, `${id}.json`), '{}');
  assert.equal(await ids(catalog()), made);
  assert.is(manifestReads().length, 4);
  assert.equal(
    (await readdir(owner)).filter((name) => name.endsWith('.json')),
    [],
  );
});

cache('a cache of version 4 is moved into a pack: an upgrade reads no manifest from the sink again', async () => {
  const { state, ids: made, catalog, manifestReads } = await setUp();
  await catalog().entries();
  assert.is(manifestReads().length, 2);
  // The version 4 layout of the same cache: rows without their place, each manifest in a file of its own.
  const directory = path.join(state, 'manifests');
  const summaries = path.join(
    directory,
    (await readdir(directory)).find((name) => name.endsWith('.json'))!,
  );
  const owner = summaries.replace(/\.json$/, '');
  const saved = JSON.parse(await readFile(summaries, 'utf8'));
  for (const row of saved.backups) {
    const [pack, offset, length] = [saved.packs[row[24]], row[25], row[26]];
    const bytes = (await readFile(path.join(owner, pack))).subarray(offset, offset + length);
    await writeFile(path.join(owner, `${encodeURIComponent(row[0])}.json`), bytes);
  }
  for (const pack of saved.packs) await rm(path.join(owner, pack));
  const rows = saved.backups.map((row: unknown[]) => row.slice(0, 24));
  await writeFile(
    summaries,
    JSON.stringify({ format: 'rast-backup/manifest-cache/4', location: saved.location, shared: saved.shared, backups: rows }),
  );
  // One file spoilt: that manifest alone is read again.
  await writeFile(path.join(owner, `${encodeURIComponent(made[1]!)}.json`), '{}');
  assert.equal(await ids(catalog()), made);
  assert.is(manifestReads().length, 3);
  assert.equal(
    (await readdir(owner)).filter((name) => name.endsWith('.json')),
    [],
  );
  assert.equal(await ids(catalog()), made);
  assert.is(manifestReads().length, 3);
});

cache('a signature listed otherwise than when the manifest was read makes it read again', async () => {
  const { sink, ids: made, catalog, manifestReads } = await setUp();
  await catalog().entries();
  sink.objects.set(RepositoryKeys.signature(made[1]!), Buffer.from('not a signature'));
  sink.calls.length = 0;
  assert.equal(await ids(catalog()), made);
  assert.equal(manifestReads(), [`get ${RepositoryKeys.manifest(made[1]!)}`]);
});

cache.run();
