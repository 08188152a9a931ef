import { Worker } from 'node:worker_threads';
import type { SinkObject } from '@rast-backup/core';
import type { ListingData, ListingMessage } from './ListingThread.js';
import type { S3Settings } from './S3Settings.js';

/**
 * A split listing (see listInRanges) run by a thread of its own, started at once: it loads the SDK while the
 * caller finds the keys it knows, then lists when `known` settles (no request goes out before). The objects come
 * back in key order; a failure of the thread is rethrown as `failure` makes it of the SDK error (its name, code and
 * status kept).
 */
export function listInThread(
  settings: S3Settings,
  prefix: string,
  known: readonly string[] | Promise<readonly string[]>,
  log: (message: string) => void,
  failure: (error: unknown) => Error,
): AsyncIterable<SinkObject> {
  const worker = new Worker(new URL('./ListingThread.js', import.meta.url), { workerData: { settings, prefix } satisfies ListingData });
  const objects = new Promise<SinkObject[]>((resolve, reject) => {
    const found: SinkObject[] = [];
    const stop = (error?: Error) => {
      void worker.terminate();
      if (error) reject(error);
      else resolve(found);
    };
    worker.on('message', (message: ListingMessage) => {
      if ('log' in message) log(message.log);
      else if ('keys' in message) {
        const { keys, sizes, versions } = message;
        for (let at = 0; at < keys.length; at++) found.push({ key: keys[at]!, size: sizes[at]!, version: versions[at] ?? undefined });
      } else if ('done' in message) stop();
      else stop(failure(Object.assign(new Error(message.failed.message), message.failed)));
    });
    worker.on('error', (error) => stop(failure(error)));
    worker.on('exit', (code) => stop(failure(new Error(`the thread listing ${prefix || 'the bucket'} stopped (exit code ${code})`))));
  });
  objects.catch(() => {});
  Promise.resolve(known).then(
    (keys) => worker.postMessage(keys),
    () => void worker.terminate(),
  );
  return {
    async *[Symbol.asyncIterator]() {
      await known;
      yield* await objects;
    },
  };
}
