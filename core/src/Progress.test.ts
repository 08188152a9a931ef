import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createBackup, restoreBackup, verifyAll, verifyBackup } from './operations.js';
import type { ProgressEvent } from './Progress.js';
import type { Runtime } from './Runtime.js';
import { MemorySink, memoryRuntime, temporaryDirectory, textFormat } from './testing.js';
import type { Format } from './types.js';

/** Every progress event of `runtime`, and whether any counted back. */
function recorded(runtime: Runtime): ProgressEvent[] {
  const events: ProgressEvent[] = [];
  runtime.pipeline.hooks.progress.tap('test-display', (event) => {
    const previous = [...events].reverse().find((candidate) => candidate.operation === event.operation);
    if (previous) assert.ok(event.done >= previous.done, `${event.operation} counted back from ${previous.done} to ${event.done}`);
    events.push(event);
  });
  return events;
}

/** The text format, with an estimate of the full stream that says how it was asked. */
function estimating(estimate: number | undefined, roots: string[]): Format {
  return { ...textFormat(), estimate: async (root) => (roots.push(root), estimate) };
}

async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 10));
}

// ---

const progress = suite('progress events');

progress('create counts plaintext bytes as parts are stored; a full backup’s total is the format’s estimate for the snapshot', async () => {
  const roots: string[] = [];
  const runtime = memoryRuntime([new MemorySink()], ['abcdefgh', 'ij'], estimating(12, roots));
  const events = recorded(runtime);
  const source = await temporaryDirectory();
  const manifest = await createBackup(runtime, { path: source });
  assert.equal(roots, [source]);
  const creates = events.filter((event) => event.operation === 'create');
  assert.is(creates.at(-1)!.done, manifest.size);
  assert.is(manifest.size, 10);
  const withTotal = creates.filter((event) => event.total !== null);
  assert.ok(withTotal.length > 0, 'the estimate arrived');
  assert.ok(
    withTotal.every((event) => event.total === 12 && event.estimated),
    JSON.stringify(withTotal),
  );
  assert.ok(creates.every((event) => event.subject === source));
});

progress('an incremental’s total is the size of the source’s last incremental; none before the first', async () => {
  const roots: string[] = [];
  const content = ['abcdefgh'];
  const runtime = memoryRuntime([new MemorySink()], content, estimating(999, roots));
  const source = await temporaryDirectory();
  await createBackup(runtime, { path: source });
  const events = recorded(runtime);
  content.push('ijkl', 'mn');
  const first = await createBackup(runtime, { path: source, parent: 'latest' });
  await settle();
  assert.ok(
    events.every((event) => event.total === null),
    'no earlier incremental: no total',
  );
  events.length = 0;
  await createBackup(runtime, { path: source, parent: 'latest' });
  await settle();
  const totals = events.filter((event) => event.total !== null);
  assert.ok(totals.length > 0);
  assert.ok(totals.every((event) => event.total === first.size && event.estimated));
  assert.equal(roots, [], 'an incremental does not measure the tree');
});

progress('nothing is estimated or built while no display taps the hook', async () => {
  const roots: string[] = [];
  const runtime = memoryRuntime([new MemorySink()], ['abcdefgh'], estimating(8, roots));
  await createBackup(runtime, { path: await temporaryDirectory() });
  assert.equal(roots, []);
});

progress('restore counts the chain’s stream bytes of its exact size; verify the stored bytes in each sink and the stream', async () => {
  const sinks = [new MemorySink(), new MemorySink()];
  const content = ['abcdefgh'];
  const runtime = memoryRuntime(sinks, content);
  const source = await temporaryDirectory();
  const full = await createBackup(runtime, { path: source });
  content.push('ijklmnop', 'q');
  const incremental = await createBackup(runtime, { path: source, parent: full.id });
  const events = recorded(runtime);

  await restoreBackup(runtime, { backup: incremental.id, destination: await temporaryDirectory() });
  const restores = events.filter((event) => event.operation === 'restore');
  const chainSize = full.size + incremental.size;
  assert.ok(restores.every((event) => event.total === chainSize && !event.estimated && event.subject === incremental.id));
  assert.is(restores.at(-1)!.done, chainSize);

  events.length = 0;
  await verifyBackup(runtime, { backup: incremental.id });
  const expected = 2 * (full.storedSize + incremental.storedSize) + chainSize;
  assert.ok(events.every((event) => event.operation === 'verify' && event.total === expected && !event.estimated));
  assert.is(events.at(-1)!.done, expected, 'every byte it counts on is read');

  events.length = 0;
  await verifyAll(runtime, { level: 'presence' });
  assert.equal(events, [], 'presence downloads nothing');
  await verifyAll(runtime, { subset: { percent: 50, run: 0 } });
  assert.ok(
    events.every(
      (event) => event.subject === 'every backup' && event.estimated && event.total === full.storedSize + incremental.storedSize,
    ),
  );
});

progress.run();
