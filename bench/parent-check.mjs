// What an incremental's parent check costs along a long chain: the chain's whole manifests (BackupGraph.chain, how
// ParentResolver checked an explicit parent before) against their heads (chainHeads, how it checks it now).
// Paired, alternating, a fresh runtime per call (a create is a process of its own: no whole manifest read yet).
//   node bench/parent-check.mjs HOME [ROUNDS]   (HOME: a directory bench/find-scale.mjs made)
import path from 'node:path';
import { createRuntime } from '@rast-backup/core';
import directory from '@rast-backup/plugin-directory';
import local from '@rast-backup/plugin-local';

const home = path.resolve(process.argv[2] ?? '.');
const ROUNDS = Number(process.argv[3] ?? 7);
process.env.RAST_BACKUP_STATE_DIR ??= path.join(home, 'state');
const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
const times = { chain: [], heads: [] };
let length = 0;
for (let round = 0; round < ROUNDS; round++)
  for (const kind of round % 2 ? ['heads', 'chain'] : ['chain', 'heads']) {
    const runtime = await createRuntime({
      configFile: path.join(home, 'config.toml'),
      defaultPresets: [local, directory],
      resolveFrom: [],
      log: { info() {}, warn() {}, error() {} },
    });
    const { graph, catalog } = runtime.repository;
    const latest = (await catalog.entries()).filter((entry) => entry.head.source.path === path.join(home, 'source')).at(-1);
    const start = process.hrtime.bigint();
    length = (kind === 'chain' ? await graph.chain(latest.head) : await graph.chainHeads(latest.head)).length;
    times[kind].push(Number(process.hrtime.bigint() - start) / 1e6);
  }
const shown = (values) => `${median(values).toFixed(1)} ms (${values.map((value) => value.toFixed(0)).join(', ')})`;
console.log(`chain of ${length}: whole manifests ${shown(times.chain)}, heads ${shown(times.heads)}`);
