import { parentPort, workerData } from 'node:worker_threads';
import pLimit from 'p-limit';
import { listInRanges, type Page, type PageRequest } from './RangeListing.js';
import { retrying } from './Retry.js';
import { connect } from './S3Connection.js';
import { normaliseEtag } from './Etag.js';
import type { S3Settings } from './S3Settings.js';

/** What a listing thread starts with. */
export interface ListingData {
  settings: S3Settings;
  /** The prefix listed, relative to the sink's. */
  prefix: string;
}

/** What the thread sends: the retries it makes (to log), then the objects of each range in order, or why it failed. */
export type ListingMessage =
  | { log: string }
  | { keys: string[]; sizes: number[]; versions: Array<string | null> }
  | { done: true }
  | { failed: { name?: string; message?: string; code?: string; Code?: string; $metadata?: { httpStatusCode?: number } } };

// The thread of one split listing (see ThreadListing): it loads the SDK at once, then lists once the keys known
// arrive, so that the SDK's loading, its XML parsing and their garbage stay off the main thread.
const { settings, prefix } = workerData as ListingData;
const port = parentPort!;
const send = (message: ListingMessage) => port.postMessage(message);
const connection = connect(settings);
connection.catch(() => {});

port.once('message', (known: string[]) => {
  void list(known).then(
    () => send({ done: true }),
    (error: unknown) => {
      const { name, message, code, Code, $metadata } = (error ?? {}) as Extract<ListingMessage, { failed: unknown }>['failed'];
      send({ failed: { name, message, code, Code, $metadata: { httpStatusCode: $metadata?.httpStatusCode } } });
    },
  );
});

async function list(known: string[]): Promise<void> {
  const { sdk, client } = await connection;
  const limit = pLimit(settings.concurrency);
  const page = (request: PageRequest): Promise<Page> =>
    limit(() =>
      retrying(
        { attempts: settings.maxAttempts, baseDelayMs: settings.retryBaseDelayMs },
        async () => {
          const answer = await client.send(
            new sdk.ListObjectsV2Command({
              Bucket: settings.bucket,
              Prefix: settings.prefix + prefix,
              ContinuationToken: request.continuationToken,
              StartAfter: request.startAfter === undefined ? undefined : settings.prefix + request.startAfter,
              MaxKeys: request.maxKeys,
            }),
          );
          const objects = (answer.Contents ?? []).map((object) => ({
            key: object.Key!.slice(settings.prefix.length),
            size: object.Size ?? 0,
            version: object.ETag === undefined ? undefined : normaliseEtag(object.ETag),
          }));
          return { objects, nextContinuationToken: answer.IsTruncated ? answer.NextContinuationToken : undefined };
        },
        (error, tryNumber, delayMs) =>
          send({
            log: `list ${prefix || 'the bucket'}: try ${tryNumber} failed (${(error as Error).name}: ${(error as Error).message}); trying again in ${delayMs} ms`,
          }),
      ),
    );
  try {
    for (const range of await listInRanges(page, known, settings.concurrency)) {
      send({
        keys: range.map(({ key }) => key),
        sizes: range.map(({ size }) => size),
        versions: range.map(({ version }) => version ?? null),
      });
    }
  } finally {
    client.destroy();
  }
}
