#!/usr/bin/env node
// What an incremental's index costs when it merges stored runs (the layering policy, docs/repository-format.md):
// a bottom run of N entries in memory-stored blocks (no transforms), a first layer over it, then a backup's
// changes (every 20th entry) written by writeIndex: merged with the first layer (it changed every 20th entry too),
// and the whole index alone (it changed every 2nd). Prints the wall and CPU time of that last write, per round.
// Usage: node --expose-gc bench/index-merge.mjs [N] [--rounds R] [--core DIR]   (DIR: another build's core/dist,
// placed under this tree's node_modules so that its packages resolve; default N 300,000, 3 rounds)
import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const N = Number(args.find((arg, at) => /^\d+$/.test(arg) && !['--rounds', '--core'].includes(args[at - 1])) ?? 300_000);
const rounds = Number(option('--rounds', 3));
const dist = pathToFileURL(path.resolve(option('--core', fileURLToPath(new URL('../core/dist', import.meta.url))))).href;
const { writeRun, writeIndex } = await import(`${dist}/IndexWriter.js`);
const { decodeBlock } = await import(`${dist}/IndexRun.js`);
const { IndexView } = await import(`${dist}/IndexView.js`);
const { comparePaths } = await import(`${dist}/IndexOrder.js`);

const objects = new Map();
const store = async (key, plain) => {
  objects.set(key, plain);
  return { key, size: plain.length, storedSize: plain.length, sha256: createHash('sha256').update(plain).digest('hex') };
};
/** A stored run read back as create reads its parent's: each block decoded from its plaintext. */
class StoredRun {
  constructor(backupId, header) {
    Object.assign(this, { backupId, header, firsts: header.blocks.map((block) => block.first) });
    this.records = header.blocks.reduce((sum, block) => sum + block.records, 0);
  }
  async readBlock(block) {
    return decodeBlock(objects.get(this.header.blocks[block].key));
  }
  mayHold() {
    return true;
  }
}
/** Entries shaped as the 1M lab's (30 files per directory, three levels, one range each). */
const entry = (i, from, size) => {
  const file = `a${String(i % 40).padStart(2, '0')}/b${String((i >> 5) % 30).padStart(2, '0')}/c${String(i % 29).padStart(2, '0')}/f${String(i).padStart(7, '0')}`;
  const ranges = [{ from, start: i * 4096, end: i * 4096 + size, path: file }];
  return { path: file, type: 'file', mode: 420, uid: 0, gid: 0, size, mtime: '1796324438447206383', from, ranges };
};
const all = Array.from({ length: N }, (_, i) => entry(i, 'b0', 2000 + (i % 3000))).sort((a, b) => comparePaths(a.path, b.path));
const bottom = new StoredRun('b0', (await writeRun({ id: 'b0', over: null, entries: N, layers: 1 }, all, store)).header);
const changed = (every, k) => all.filter((_, i) => i % every === k).map((e) => ({ ...e, size: e.size + 1, from: `b${k + 1}` }));

for (let round = 1; round <= rounds; round++) {
  for (const [label, every] of [
    ['merged with the layer above', 20],
    ['the whole index alone', 2],
  ]) {
    const first = await writeIndex(
      'b1',
      { backupId: 'b1', changes: changed(every, 0), entries: N },
      new IndexView('b0', [bottom], N),
      store,
    );
    const parent = new IndexView('b1', [new StoredRun('b1', first.header), bottom], N);
    const changes = changed(20, 1);
    globalThis.gc?.();
    const [start, cpu] = [performance.now(), process.cpuUsage()];
    const written = await writeIndex('b2', { backupId: 'b2', changes, entries: N }, parent, store);
    const used = process.cpuUsage(cpu);
    const records = written.header.blocks.reduce((sum, block) => sum + block.records, 0);
    const seconds = (performance.now() - start) / 1000;
    console.log(
      `round ${round}, ${label} (${records} records, over ${written.header.over}): ${seconds.toFixed(2)} s, CPU ${((used.user + used.system) / 1e6).toFixed(2)} s`,
    );
  }
}
