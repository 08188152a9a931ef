#!/usr/bin/env node
// Where a full create's main-thread CPU goes, stage by stage, on a send stream file (`btrfs send -f`): the
// stream read in part-sized chunks through the decoder alone, then the decoder and the indexer, then the
// tree walked in index order, then its run's blocks made (lines, paths, name filters) with a store that
// keeps nothing. Each stage runs the stages before it again; the differences are what each adds.
// Usage: node bench/full-index-stages.mjs STREAM [--rounds N]
import { openSync, readSync, closeSync } from 'node:fs';
import { writeIndex } from '../core/dist/index.js';
import { SendStreamDecoder } from '../plugins/btrfs/dist/SendStreamDecoder.js';
import { SendStreamIndexer } from '../plugins/btrfs/dist/SendStreamIndexer.js';

const PART = 16 * 1024 * 1024;
const args = process.argv.slice(2);
const roundsAt = args.indexOf('--rounds');
const rounds = roundsAt >= 0 ? Number(args.splice(roundsAt, 2)[1]) : 1;
const [stream] = args;
const chunk = Buffer.allocUnsafeSlow(PART);

function decode(onCommand) {
  const decoder = new SendStreamDecoder(stream, onCommand, undefined, { checkCrc: false });
  const fd = openSync(stream, 'r');
  try {
    for (let length; (length = readSync(fd, chunk, 0, PART, null)) > 0;) decoder.push(chunk.subarray(0, length));
  } finally {
    closeSync(fd);
  }
  decoder.finish();
}

const stages = {
  read: () => {
    const fd = openSync(stream, 'r');
    while (readSync(fd, chunk, 0, PART, null) > 0);
    closeSync(fd);
  },
  decode: () => decode(() => {}),
  index: () => {
    const indexer = new SendStreamIndexer('s');
    decode((command) => indexer.apply(command));
    return indexer;
  },
  walk: async () => {
    const output = await stages.index().index();
    for await (const _entry of output.walk);
  },
  write: async () => {
    const output = await stages.index().index();
    const store = async (key, plain) => ({ key, size: plain.length, sha256: '' });
    const { header } = await writeIndex('s', output, undefined, store);
    return header.blocks.length;
  },
};

for (let round = 0; round < rounds; round++)
  for (const [name, stage] of Object.entries(stages)) {
    const cpu = process.cpuUsage();
    const started = performance.now();
    await stage();
    const used = process.cpuUsage(cpu);
    console.log(
      `${name.padEnd(7)} ${((performance.now() - started) / 1000).toFixed(2)} s wall, ${(used.user / 1e6).toFixed(2)} u + ${(used.system / 1e6).toFixed(2)} s`,
    );
  }
