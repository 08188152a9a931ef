import { createHash } from 'node:crypto';
import { partMissing, sinkFailed, type Logger, type Sink, type SinkObject } from '@rast-backup/core';
import pLimit, { type LimitFunction } from 'p-limit';
import { uploadMultipart, uploadMultipartStream } from './MultipartUpload.js';
import { retrying } from './Retry.js';
import { connect, type S3Connection } from './S3Connection.js';
import { sinkFailure } from './S3Failure.js';
import { describeLocation, type S3Settings } from './S3Settings.js';

/** Keys one listing page holds at most (S3's limit, and most compatible stores'). */
const PAGE_KEYS = 1000;
/** Keys asked for beyond those known in a range of a split listing, so that a few new ones still fit its one page. */
const RANGE_SLACK = 24;

/** A body shorter than its Content-Length: the connection ended early. Transient. */
class TruncatedBody extends Error {
  override readonly name = 'TruncatedBody';
}

/**
 * A repository in an S3 bucket (AWS or any S3-compatible store), under an optional key prefix.
 * Every request is limited to `concurrency` at once and retried with backoff on transient failures,
 * a download cut short included. Objects are plain: one object per key, readable by any S3 client.
 */
export class S3Sink implements Sink {
  readonly name: string;
  readonly location: string;
  private connection?: Promise<S3Connection>;
  private readonly limit: LimitFunction;

  constructor(
    readonly settings: S3Settings,
    private readonly log: Logger,
  ) {
    this.name = settings.name;
    this.location = describeLocation(settings);
    this.limit = pLimit(settings.concurrency);
  }

  private connected(): Promise<S3Connection> {
    this.connection ??= connect(this.settings).catch((error: unknown) => {
      throw sinkFailure(this.name, this.location, this.settings.bucket, 'connect', error);
    });
    return this.connection;
  }

  private objectKey(key: string): string {
    return this.settings.prefix + key;
  }

  /** One request under the concurrency limit, retried on transient failures; failures name sink, endpoint and bucket. */
  private run<T>(action: string, request: () => Promise<T>): Promise<T> {
    return this.limit(async () => {
      try {
        return await retrying(
          { attempts: this.settings.maxAttempts, baseDelayMs: this.settings.retryBaseDelayMs },
          request,
          (error, tryNumber, delayMs) => {
            this.log.info(
              `sink ${this.name}: ${action}: try ${tryNumber} failed (${(error as Error).name}: ${(error as Error).message}); trying again in ${delayMs} ms`,
            );
          },
        );
      } catch (error) {
        throw sinkFailure(this.name, this.location, this.settings.bucket, action, error);
      }
    });
  }

  async put(key: string, data: Buffer): Promise<void> {
    const { sdk, client } = await this.connected();
    const target = { Bucket: this.settings.bucket, Key: this.objectKey(key), StorageClass: this.settings.storageClass };
    if (data.length >= this.settings.multipartThreshold) {
      await uploadMultipart({ sdk, client }, target, data, this.settings.multipartChunkSize, (action, request) =>
        this.run(action, request),
      );
    } else {
      const ContentMD5 = createHash('md5').update(data).digest('base64');
      await this.run(`store ${key}`, () =>
        client.send(
          new sdk.PutObjectCommand({
            ...target,
            StorageClass: target.StorageClass as never,
            Body: data,
            ContentLength: data.length,
            ContentMD5,
          }),
        ),
      );
    }
  }

  /**
   * Stores an object that arrives as chunks: below multipart_threshold_mib gathered and put whole, above it
   * streamed as a multipart upload (memory: one piece of multipart_chunk_mib). An error from `chunks` leaves no object.
   */
  async write(key: string, chunks: AsyncIterable<Buffer>, size: number): Promise<void> {
    if (size < this.settings.multipartThreshold) {
      const gathered: Buffer[] = [];
      for await (const chunk of chunks) gathered.push(chunk);
      await this.put(key, Buffer.concat(gathered));
      return;
    }
    const target = { Bucket: this.settings.bucket, Key: this.objectKey(key), StorageClass: this.settings.storageClass };
    await uploadMultipartStream(await this.connected(), target, chunks, size, this.settings.multipartChunkSize, (action, request) =>
      this.run(action, request),
    );
  }

  /**
   * The object as the connection delivers it. A download cut short is resumed from where it stopped (a range
   * request for that version of the object), up to max_attempts times in all.
   */
  async *read(key: string): AsyncIterable<Buffer> {
    const { sdk, client } = await this.connected();
    let offset = 0;
    let etag: string | undefined;
    for (let tryNumber = 1; ; tryNumber++) {
      const answer = await this.run(`read ${key}`, async () => {
        try {
          return await client.send(
            new sdk.GetObjectCommand({
              Bucket: this.settings.bucket,
              Key: this.objectKey(key),
              ...(offset > 0 ? { Range: `bytes=${offset}-`, IfMatch: etag } : {}),
            }),
          );
        } catch (error) {
          if ((error as Error).name === 'NoSuchKey') throw partMissing(key, this);
          throw error;
        }
      });
      etag ??= answer.ETag;
      const expected = answer.ContentLength;
      let received = 0;
      try {
        for await (const chunk of answer.Body as AsyncIterable<Uint8Array>) {
          received += chunk.length;
          offset += chunk.length;
          yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        }
        if (expected !== undefined && received !== expected) throw new TruncatedBody(`${key}: received ${received} of ${expected} bytes`);
        return;
      } catch (error) {
        if (tryNumber >= this.settings.maxAttempts) throw sinkFailure(this.name, this.location, this.settings.bucket, `read ${key}`, error);
        this.log.info(
          `sink ${this.name}: read ${key}: try ${tryNumber} cut short at byte ${offset} (${(error as Error).message}); resuming`,
        );
      }
    }
  }

  /** One GET of the object; PART_MISSING when the bucket does not hold it. */
  private async getObject({ sdk, client }: S3Connection, key: string) {
    try {
      return await client.send(new sdk.GetObjectCommand({ Bucket: this.settings.bucket, Key: this.objectKey(key) }));
    } catch (error) {
      if ((error as Error).name === 'NoSuchKey') throw partMissing(key, this);
      throw error;
    }
  }

  async get(key: string): Promise<Buffer> {
    const { sdk, client } = await this.connected();
    return this.run(`read ${key}`, async () => {
      const answer = await this.getObject({ sdk, client }, key);
      const bytes = await answer.Body!.transformToByteArray();
      if (answer.ContentLength !== undefined && bytes.length !== answer.ContentLength) {
        throw new TruncatedBody(`${key}: received ${bytes.length} of ${answer.ContentLength} bytes`);
      }
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    });
  }

  /** The object's body copied into `into` as it arrives (no buffer of its own); the whole request is tried again on a failure. */
  async readInto(key: string, into: Buffer): Promise<number> {
    const { sdk, client } = await this.connected();
    return this.run(`read ${key}`, async () => {
      const answer = await this.getObject({ sdk, client }, key);
      const body = answer.Body as AsyncIterable<Uint8Array> & { destroy?: () => void };
      if (answer.ContentLength !== undefined && answer.ContentLength > into.length) {
        body.destroy?.();
        return answer.ContentLength;
      }
      let received = 0;
      for await (const chunk of body) {
        if (received + chunk.length <= into.length) into.set(chunk, received);
        received += chunk.length;
      }
      if (answer.ContentLength !== undefined && received !== answer.ContentLength) {
        throw new TruncatedBody(`${key}: received ${received} of ${answer.ContentLength} bytes`);
      }
      return received;
    });
  }

  async *list(prefix: string): AsyncIterable<SinkObject> {
    const { sdk, client } = await this.connected();
    let ContinuationToken: string | undefined;
    do {
      const page = await this.run(`list ${prefix || 'the bucket'}`, () =>
        client.send(new sdk.ListObjectsV2Command({ Bucket: this.settings.bucket, Prefix: this.objectKey(prefix), ContinuationToken })),
      );
      for (const object of page.Contents ?? []) {
        const key = object.Key!.slice(this.settings.prefix.length);
        yield { key, size: object.Size ?? 0, version: object.ETag === undefined ? undefined : normaliseEtag(object.ETag) };
      }
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }

  async *listSplit(prefix: string, known: readonly string[]): AsyncIterable<SinkObject> {
    // Each range holds the known keys one page can take with room to spare for new ones; all are asked for at
    // once (under the concurrency limit), and a last one reaches past the last known key.
    const size = Math.max(1, Math.min(PAGE_KEYS - RANGE_SLACK, Math.ceil(known.length / this.settings.concurrency)));
    const ranges: Array<Promise<SinkObject[]>> = [];
    for (let start = 0; start < known.length; start += size) {
      const end = Math.min(start + size, known.length);
      ranges.push(this.listRange(prefix, known[start - 1], known[end - 1], end - start));
    }
    ranges.push(this.listRange(prefix, known.at(-1), undefined, 0));
    for (const range of await Promise.all(ranges)) yield* range;
  }

  /** The objects under `prefix` after key `after` up to key `last` (S3 order: UTF-8 bytes), of which `expected` were known. */
  private async listRange(prefix: string, after: string | undefined, last: string | undefined, expected: number): Promise<SinkObject[]> {
    const { sdk, client } = await this.connected();
    const start = after === undefined ? undefined : Buffer.from(after);
    const end = last === undefined ? undefined : Buffer.from(last);
    const found: SinkObject[] = [];
    let ContinuationToken: string | undefined;
    do {
      const page = await this.run(`list ${prefix || 'the bucket'}`, () =>
        client.send(
          new sdk.ListObjectsV2Command({
            Bucket: this.settings.bucket,
            Prefix: this.objectKey(prefix),
            ContinuationToken,
            StartAfter: ContinuationToken === undefined && after !== undefined ? this.objectKey(after) : undefined,
            MaxKeys: ContinuationToken === undefined ? Math.min(PAGE_KEYS, expected + RANGE_SLACK) : PAGE_KEYS,
          }),
        ),
      );
      for (const object of page.Contents ?? []) {
        const key = object.Key!.slice(this.settings.prefix.length);
        const bytes = Buffer.from(key);
        // A store that ignores StartAfter answers from the prefix's start: those keys are another range's.
        if (start && Buffer.compare(bytes, start) <= 0) continue;
        const past = end ? Buffer.compare(bytes, end) : -1;
        if (past > 0) return found;
        found.push({ key, size: object.Size ?? 0, version: object.ETag === undefined ? undefined : normaliseEtag(object.ETag) });
        if (past === 0) return found;
      }
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
    return found;
  }

  async delete(key: string): Promise<void> {
    const { sdk, client } = await this.connected();
    await this.run(`delete ${key}`, () =>
      client.send(new sdk.DeleteObjectCommand({ Bucket: this.settings.bucket, Key: this.objectKey(key) })),
    );
  }

  /** Removes many objects with DeleteObjects, 1000 keys per request; absent objects are not an error. */
  async deleteMany(keys: string[]): Promise<void> {
    const { sdk, client } = await this.connected();
    const batches: string[][] = [];
    for (let start = 0; start < keys.length; start += 1000) batches.push(keys.slice(start, start + 1000));
    await Promise.all(
      batches.map(async (batch) => {
        const answer = await this.run(`delete ${batch.length} objects`, () =>
          client.send(
            new sdk.DeleteObjectsCommand({
              Bucket: this.settings.bucket,
              Delete: { Quiet: true, Objects: batch.map((key) => ({ Key: this.objectKey(key) })) },
            }),
          ),
        );
        const refused = (answer.Errors ?? []).filter((error) => error.Code !== 'NoSuchKey');
        if (refused.length > 0) {
          const first = refused[0]!;
          throw sinkFailed(this, `delete ${refused.length} objects`, undefined, {
            reason: `e.g. ${first.Key}: ${first.Code}: ${first.Message}`,
          });
        }
      }),
    );
  }

  /** Closes idle connections so that the process can exit at once. */
  destroy(): void {
    void this.connection?.then(({ client }) => client.destroy()).catch(() => {});
  }
}

/** ETags are quoted in some answers and not in others. */
function normaliseEtag(etag: string): string {
  return etag.replace(/^(W\/)?"|"$/g, '');
}
