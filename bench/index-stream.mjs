#!/usr/bin/env node
// What decoding and indexing cost during create: runs send stream files (as `btrfs send -f` writes them)
// through the decoder (every CRC checked) and the indexer, and prints the wall and CPU time per GiB.
// Usage: node bench/index-stream.mjs STREAM...   (a chain: full first, then each incremental)
import { createReadStream, statSync } from 'node:fs';
import { SendStreamDecoder } from '../plugins/btrfs/dist/SendStreamDecoder.js';
import { SendStreamIndexer } from '../plugins/btrfs/dist/SendStreamIndexer.js';

let index;
for (const [position, stream] of process.argv.slice(2).entries()) {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const indexer = new SendStreamIndexer(`s${position}`, index);
  const decoder = new SendStreamDecoder(stream, (command) => indexer.apply(command));
  for await (const chunk of createReadStream(stream, { highWaterMark: 64 * 1024 })) decoder.push(chunk);
  decoder.finish();
  index = indexer.index();
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const gib = statSync(stream).size / 2 ** 30;
  console.log(
    `${stream}: ${gib.toFixed(2)} GiB, ${index.entries.length} entries: ${seconds.toFixed(2)} s wall, ${((used.user + used.system) / 1e6).toFixed(2)} s CPU (${(seconds / gib).toFixed(2)} s/GiB)`,
  );
}
