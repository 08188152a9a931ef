import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ErrorCode, RastError } from './errors.js';
import type { Manifest } from './Manifest.js';
import { createBackup } from './operations.js';
import { walkParents } from './BackupGraph.js';
import { RepositoryKeys } from './RepositoryKeys.js';
import { MemorySink, memoryRuntime, temporaryDirectory } from './testing.js';

const graph = suite('backup graph: chains, ancestors, dependents and descendants over the catalog');

/** A ← B ← C, A ← E, and D a full backup of its own, made in that order. */
async function setUp() {
  const sink = new MemorySink('a');
  const runtime = memoryRuntime([sink], ['0123456789']);
  const source = await temporaryDirectory();
  const A = await createBackup(runtime, { path: source });
  const B = await createBackup(runtime, { path: source, parent: A.id });
  const C = await createBackup(runtime, { path: source, parent: B.id });
  const D = await createBackup(runtime, { path: source });
  const E = await createBackup(runtime, { path: source, parent: A.id });
  const { catalog, graph } = runtime.repository;
  /** Rewrites a stored manifest's parent, as damage or a forged repository would. */
  const setParent = (manifest: Manifest, parent: string | null) => {
    sink.objects.set(RepositoryKeys.manifest(manifest.id), Buffer.from(JSON.stringify({ ...manifest, parent })));
    catalog.invalidate();
  };
  return { sink, catalog, graph, setParent, A, B, C, D, E };
}

const ids = (manifests: Array<{ id: string }>) => manifests.map((manifest) => manifest.id);

async function parentInvalid(call: Promise<unknown>): Promise<RastError> {
  const error = await call.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  assert.instance(error, RastError, 'the chain was returned, though it is broken');
  assert.is((error as RastError).code, ErrorCode.PARENT_INVALID);
  return error as RastError;
}

graph('a chain runs from the full backup to the backup itself', async () => {
  const { graph, A, B, C, D, E } = await setUp();
  assert.equal(ids(await graph.chain(C)), [A.id, B.id, C.id]);
  assert.equal(ids(await graph.chain(E)), [A.id, E.id]);
  assert.equal(ids(await graph.chain(D)), [D.id]);
});

graph('ancestors are the backups above one; dependents its children; descendants all below, oldest first', async () => {
  const { graph, A, B, C, D, E } = await setUp();
  assert.equal([...(await graph.ancestors(C))].sort(), [A.id, B.id].sort());
  assert.equal([...(await graph.ancestors(A))], []);
  assert.equal(ids(await graph.dependents(A.id)), [B.id, E.id]);
  assert.equal(ids(await graph.dependents(C.id)), []);
  assert.equal(await graph.descendants([A.id]), [B.id, C.id, E.id]);
  assert.equal(await graph.descendants([B.id, D.id]), [C.id]);
  assert.equal(await graph.descendants([A.id, B.id]), [C.id, E.id]);
});

graph('a parent missing from every sink, or whose manifest is damaged, breaks the chain and names the parent', async () => {
  const { sink, catalog, graph, A, B, C } = await setUp();
  sink.objects.set(RepositoryKeys.manifest(A.id), Buffer.from('{"not a manifest'));
  catalog.invalidate();
  assert.is((await parentInvalid(graph.chain(C))).facts.parent, A.id);
  sink.objects.delete(RepositoryKeys.manifest(A.id));
  catalog.invalidate();
  assert.is((await parentInvalid(graph.chain(C))).facts.parent, A.id);
  // Ancestors go as far as the catalog has them, the missing parent included.
  assert.equal([...(await graph.ancestors(C))].sort(), [A.id, B.id].sort());
});

graph('parents that loop break the chain; the ancestors of a backup in a loop hold the backup itself', async () => {
  const { catalog, graph, setParent, A, B, C, E } = await setUp();
  setParent(A, C.id);
  await parentInvalid(graph.chain(C));
  await parentInvalid(graph.chain(B));
  assert.equal([...(await graph.ancestors(B))].sort(), [A.id, B.id, C.id].sort());
  setParent(A, A.id);
  const looped = (await catalog.resolve(A.id)).manifest;
  await parentInvalid(graph.chain(looped));
  assert.equal([...(await graph.ancestors(looped))], [A.id]);
  assert.equal(ids(await graph.dependents(A.id)), [A.id, B.id, E.id]);
  assert.equal(await graph.descendants([A.id]), [B.id, C.id, E.id]);
});

graph('walkParents follows any linked records, nearest first, and says where it ended', () => {
  const records = [
    { id: 'a', parent: null },
    { id: 'b', parent: 'a' },
    { id: 'c', parent: 'b' },
    { id: 'd', parent: 'gone' },
    { id: 'e', parent: 'f' },
    { id: 'f', parent: 'e' },
    { id: 'g', parent: 'g' },
  ];
  const byId = new Map(records.map((record) => [record.id, record]));
  const walk = (id: string) => {
    const { parents, end } = walkParents(byId.get(id)!, byId);
    return { parents: parents.map((parent) => parent.id), end };
  };
  assert.equal(walk('c'), { parents: ['b', 'a'], end: { at: 'full' } });
  assert.equal(walk('a'), { parents: [], end: { at: 'full' } });
  assert.equal(walk('d'), { parents: [], end: { at: 'missing', id: 'gone' } });
  assert.equal(walk('e'), { parents: ['f'], end: { at: 'loop', id: 'e' } });
  assert.equal(walk('g'), { parents: [], end: { at: 'loop', id: 'g' } });
});

graph.run();
