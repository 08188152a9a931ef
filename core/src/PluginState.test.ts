import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createBackup } from './operations.js';
import { Pipeline } from './Pipeline.js';
import { pluginState } from './PluginState.js';
import { MemorySink, memoryRuntime, temporaryDirectory, textFormat } from './testing.js';
import type { Format } from './types.js';

const state = suite('plugin state per pipeline');

state('each pipeline keeps its own value; a plugin that did not apply has none; keys do not mix', () => {
  const settings = pluginState<{ level: number }>('rast-backup-plugin-a');
  const other = pluginState<string>('rast-backup-plugin-b');
  const [first, second] = [new Pipeline(), new Pipeline()];
  assert.equal(settings.set(first, { level: 1 }), { level: 1 });
  settings.set(second, { level: 2 });
  other.set(first, 'b');
  assert.equal(settings.get(first), { level: 1 });
  assert.equal(settings.get(second), { level: 2 });
  assert.is(other.get(first), 'b');
  assert.is(other.get(second), undefined);
  assert.is(pluginState('rast-backup-plugin-a').get(first)?.constructor, Object, 'the same key reads the same state');
});

state("a format's details after serializing are recorded in the manifest's source, over the snapshot's", async () => {
  const source = await temporaryDirectory();
  const plain = textFormat();
  const format: Format = {
    ...plain,
    serialize: (context) => ({ ...plain.serialize(context), details: () => ({ protocol: 2, content: 'replaced' }) }),
  };
  const manifest = await createBackup(memoryRuntime([new MemorySink('m')], ['a'], format), { path: source });
  assert.is(manifest.source.protocol, 2);
  assert.is(manifest.source.content, 'replaced');
});

state.run();
