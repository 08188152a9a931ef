#!/usr/bin/env node
// Applies btrfs send stream files, in order, into DEST with rast-backup's user-space receiver.
// Usage: node bench/receive-stream.mjs DEST STREAM...
import { createReadStream } from 'node:fs';
import { SendStreamReceiver } from '../plugins/btrfs/dist/SendStreamReceiver.js';

const [destination, ...streams] = process.argv.slice(2);
const receiver = new SendStreamReceiver(destination, { isRoot: process.getuid() === 0, onBtrfs: false });
for (const stream of streams) await receiver.receive(stream, createReadStream(stream, { highWaterMark: 1 << 20 }));
const report = receiver.finish();
if (report.skipped.length) console.error(report.skipped.join('\n'));
