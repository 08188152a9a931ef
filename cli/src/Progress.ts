import cliProgress from 'cli-progress';
import type { Pipeline } from '@rast-backup/core';
import { formatBytes } from './Output.js';

/** Bytes, rate (and ETA when the total is known) on stderr while parts are stored; only on a terminal. */
export function showProgress(pipeline: Pipeline, label: string, stream: NodeJS.WriteStream = process.stderr): () => void {
  if (!stream.isTTY) return () => {};
  const started = Date.now();
  let bytes = 0;
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${label} {done} stored, {rate}/s`,
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(0, 0, { done: formatBytes(0), rate: formatBytes(0) });
  pipeline.hooks.partStored.tap('rast-backup-cli-progress', (part) => {
    bytes += part.size;
    const seconds = Math.max((Date.now() - started) / 1000, 0.001);
    bar.update(0, { done: formatBytes(bytes), rate: formatBytes(bytes / seconds) });
  });
  return () => bar.stop();
}
