import { Pipeline, type Manifest, type RastError } from '@rast-backup/core';
import { silentLogger } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import retention from './index.js';

const manifest = (id: string, created: string, parent: string | null = null) => ({ id, created, parent }) as Manifest;

async function applied(options: Record<string, unknown>) {
  const pipeline = new Pipeline();
  const log = silentLogger();
  await retention.apply(pipeline, options as never, {
    configFile: '/etc/rast/backup/config.toml',
    configDirectory: '/etc/rast/backup',
    log,
    runtime: () => assert.unreachable('not needed') as never,
  });
  return { pipeline, log };
}

// ---

const parent = suite('retention plugin: the parent hook');

parent('full_every ends a chain that is full, and extends one that is not', async () => {
  const { pipeline } = await applied({ daily: 7, full_every: 3 });
  const now = new Date().toISOString();
  const chain = [manifest('a', now), manifest('b', now, 'a'), manifest('c', now, 'b')];
  assert.is(await pipeline.hooks.parent.promise(chain[2]!, { path: '/', chain: async () => chain }), null);
  assert.is(await pipeline.hooks.parent.promise(chain[1]!, { path: '/', chain: async () => chain.slice(0, 2) }), chain[1]);
});

parent('a broken chain starts a new full backup, with a warning', async () => {
  const { pipeline, log } = await applied({ full_after_days: 30 });
  const latest = manifest('b', new Date().toISOString(), 'a');
  const result = await pipeline.hooks.parent.promise(latest, {
    path: '/',
    chain: () => Promise.reject(new Error('backup b needs its parent a, which is in no sink')),
  });
  assert.is(result, null);
  assert.match(
    log.warnings.join('\n'),
    /the chain of backup b is broken \(backup b needs its parent a.*\): starting a new full backup of \//,
  );
});

parent('without full_every or full_after_days the hook is not tapped', async () => {
  const { pipeline } = await applied({ daily: 7 });
  assert.not.ok(pipeline.taps.get('@rast-backup/plugin-retention')?.has('parent'));
});

parent('prune_after_create without a counting rule is a config error naming the key', async () => {
  try {
    await applied({ keep_tags: ['keep'], prune_after_create: true });
    assert.unreachable();
  } catch (error) {
    assert.is((error as RastError).code, 'RB002');
    assert.match((error as Error).message, /retention\.prune_after_create/);
  }
});

parent.run();
