import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createBackup, describeBackup } from './operations.js';
import { MemorySink, memoryRuntime, temporaryDirectory } from './testing.js';

const info = suite('info: one backup in detail, with the facts plugins add through the describe hook');

info('describeBackup resolves the backup, its chain and its files, and asks the describe hook', async () => {
  const runtime = memoryRuntime([new MemorySink('a')], ['0123456789']);
  const source = await temporaryDirectory();
  const full = await createBackup(runtime, { path: source });
  const incremental = await createBackup(runtime, { path: source, parent: 'latest' });
  const asked: string[] = [];
  runtime.pipeline.hooks.describe.tapPromise('test-describe', async (facts, manifest) => {
    asked.push(manifest.id);
    return { ...facts, snapshot: `kept for ${manifest.id}` };
  });
  const described = await describeBackup(runtime, { backup: 'latest' });
  assert.is(described.entry.manifest.id, incremental.id);
  assert.equal(
    described.chain.map((manifest) => manifest.id),
    [full.id, incremental.id],
  );
  assert.equal(described.facts, { snapshot: `kept for ${incremental.id}` });
  assert.equal(asked, [incremental.id]);
  assert.is(described.index, undefined);
  const withFiles = await describeBackup(runtime, { backup: full.id, files: true });
  assert.is(withFiles.index?.backupId, full.id);
});

info.run();
