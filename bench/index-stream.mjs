#!/usr/bin/env node
// What decoding and indexing cost during create: runs send stream files (as `btrfs send -f` writes them)
// through the decoder (every CRC checked) and the indexer, and prints the wall and CPU time per GiB. Run with
// `node --expose-gc` to also print the heap the indexer holds at the stream's end, per entry of the index.
// Usage: node [--expose-gc] bench/index-stream.mjs STREAM...   (a chain: full first, then each incremental)
import { createReadStream, statSync } from 'node:fs';
import { IndexView, MemoryRun } from '../core/dist/index.js';
import { SendStreamDecoder } from '../plugins/btrfs/dist/SendStreamDecoder.js';
import { SendStreamIndexer } from '../plugins/btrfs/dist/SendStreamIndexer.js';

/** The heap and the typed arrays' buffers (a full stream's tree is held in typed arrays). */
const heap = () => {
  globalThis.gc?.();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
};
let view;
for (const [position, stream] of process.argv.slice(2).entries()) {
  const id = `s${position}`;
  const heapBefore = heap();
  const started = performance.now();
  const cpu = process.cpuUsage();
  const indexer = new SendStreamIndexer(id, view);
  const decoder = new SendStreamDecoder(stream, (command) => indexer.apply(command));
  for await (const chunk of createReadStream(stream, { highWaterMark: 64 * 1024 })) decoder.push(chunk);
  decoder.finish();
  const held = heap() - heapBefore;
  const output = await indexer.index();
  const records = [];
  for await (const record of 'walk' in output ? output.walk : output.changes.records()) records.push(record);
  const entries = 'walk' in output ? records.length : output.entries;
  view = new IndexView(id, [new MemoryRun(id, records), ...(view && 'changes' in output ? view.layers : [])], entries);
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const gib = statSync(stream).size / 2 ** 30;
  const perEntry = globalThis.gc ? `, indexer heap ${(held / 2 ** 20).toFixed(1)} MiB (${Math.round(held / entries)} bytes per entry)` : '';
  console.log(
    `${stream}: ${gib.toFixed(2)} GiB, ${entries} entries (${records.length} records): ${seconds.toFixed(2)} s wall, ${((used.user + used.system) / 1e6).toFixed(2)} s CPU (${(seconds / gib).toFixed(2)} s/GiB)${perEntry}`,
  );
}
