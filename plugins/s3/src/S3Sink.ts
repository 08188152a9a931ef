import { createHash } from 'node:crypto';
import { ErrorCode, RastError, type Logger, type Sink, type SinkObject } from '@rast-backup/core';
import pLimit, { type LimitFunction } from 'p-limit';
import { ManifestCache, normaliseEtag } from './ManifestCache.js';
import { uploadMultipart } from './MultipartUpload.js';
import { retrying } from './Retry.js';
import { connect, type S3Connection } from './S3Connection.js';
import { sinkFailure } from './S3Failure.js';
import { describeLocation, type S3Settings } from './S3Settings.js';

/** Keys whose objects are small and never rewritten: kept in the manifest cache. */
const CACHED_PREFIX = 'backups/';

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
  private readonly cache?: ManifestCache;
  /** ETags of cached-kind objects as last listed, so that a cache entry is used only while it is current. */
  private readonly listedEtags = new Map<string, string>();

  constructor(
    readonly settings: S3Settings,
    private readonly log: Logger,
  ) {
    this.name = settings.name;
    this.location = describeLocation(settings);
    this.limit = pLimit(settings.concurrency);
    if (settings.cacheDirectory) {
      this.cache = new ManifestCache(settings.cacheDirectory, `${settings.endpoint ?? `aws:${settings.region}`}\0${settings.bucket}\0${settings.prefix}`, (message) => log.warn(`sink ${this.name}: ${message}`));
    }
  }

  private connected(): Promise<S3Connection> {
    this.connection ??= connect(this.settings);
    return this.connection;
  }

  private objectKey(key: string): string {
    return this.settings.prefix + key;
  }

  /** One request under the concurrency limit, retried on transient failures; failures name sink, endpoint and bucket. */
  private run<T>(action: string, request: () => Promise<T>): Promise<T> {
    return this.limit(async () => {
      try {
        return await retrying({ attempts: this.settings.maxAttempts, baseDelayMs: this.settings.retryBaseDelayMs }, request, (error, tryNumber, delayMs) => {
          this.log.info(`sink ${this.name}: ${action}: try ${tryNumber} failed (${(error as Error).name}: ${(error as Error).message}); trying again in ${delayMs} ms`);
        });
      } catch (error) {
        throw sinkFailure(this.name, this.location, this.settings.bucket, action, error);
      }
    });
  }

  async put(key: string, data: Buffer): Promise<void> {
    const { sdk, client } = await this.connected();
    const target = { Bucket: this.settings.bucket, Key: this.objectKey(key), StorageClass: this.settings.storageClass };
    let etag: string | undefined;
    if (data.length >= this.settings.multipartThreshold) {
      etag = await uploadMultipart({ sdk, client }, target, data, this.settings.multipartChunkSize, (action, request) => this.run(action, request));
    } else {
      const ContentMD5 = createHash('md5').update(data).digest('base64');
      const answer = await this.run(`store ${key}`, () =>
        client.send(new sdk.PutObjectCommand({ ...target, StorageClass: target.StorageClass as never, Body: data, ContentLength: data.length, ContentMD5 })),
      );
      etag = answer.ETag;
    }
    if (this.cache && key.startsWith(CACHED_PREFIX)) {
      if (etag) this.listedEtags.set(key, normaliseEtag(etag));
      await this.cache.put(key, etag, data);
    }
  }

  async get(key: string): Promise<Buffer> {
    const listedEtag = this.listedEtags.get(key);
    if (this.cache && listedEtag) {
      const cached = await this.cache.get(key, listedEtag);
      if (cached) return cached;
    }
    const { sdk, client } = await this.connected();
    const { data, etag } = await this.run(`read ${key}`, async () => {
      let answer;
      try {
        answer = await client.send(new sdk.GetObjectCommand({ Bucket: this.settings.bucket, Key: this.objectKey(key) }));
      } catch (error) {
        if ((error as Error).name === 'NoSuchKey') throw new RastError(ErrorCode.PART_MISSING, `${key} is missing from sink ${this.name} (${this.location})`, { sink: this.name, key });
        throw error;
      }
      const bytes = await answer.Body!.transformToByteArray();
      if (answer.ContentLength !== undefined && bytes.length !== answer.ContentLength) {
        throw new TruncatedBody(`${key}: received ${bytes.length} of ${answer.ContentLength} bytes`);
      }
      return { data: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), etag: answer.ETag };
    });
    if (this.cache && key.startsWith(CACHED_PREFIX)) await this.cache.put(key, etag, data);
    return data;
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
        if (object.ETag && key.startsWith(CACHED_PREFIX)) this.listedEtags.set(key, normaliseEtag(object.ETag));
        yield { key, size: object.Size ?? 0 };
      }
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }

  async delete(key: string): Promise<void> {
    const { sdk, client } = await this.connected();
    await this.run(`delete ${key}`, () => client.send(new sdk.DeleteObjectCommand({ Bucket: this.settings.bucket, Key: this.objectKey(key) })));
    await this.forget(key);
  }

  /** Removes many objects with DeleteObjects, 1000 keys per request; absent objects are not an error. */
  async deleteMany(keys: string[]): Promise<void> {
    const { sdk, client } = await this.connected();
    const batches: string[][] = [];
    for (let start = 0; start < keys.length; start += 1000) batches.push(keys.slice(start, start + 1000));
    await Promise.all(
      batches.map(async (batch) => {
        const answer = await this.run(`delete ${batch.length} objects`, () =>
          client.send(new sdk.DeleteObjectsCommand({ Bucket: this.settings.bucket, Delete: { Quiet: true, Objects: batch.map((key) => ({ Key: this.objectKey(key) })) } })),
        );
        const refused = (answer.Errors ?? []).filter((error) => error.Code !== 'NoSuchKey');
        if (refused.length > 0) {
          const first = refused[0]!;
          throw new RastError(ErrorCode.SINK_FAILED, `sink ${this.name} (${this.location}): cannot delete ${refused.length} objects, e.g. ${first.Key}: ${first.Code}: ${first.Message}`, { sink: this.name });
        }
      }),
    );
    for (const key of keys) await this.forget(key);
  }

  private async forget(key: string): Promise<void> {
    if (!key.startsWith(CACHED_PREFIX)) return;
    this.listedEtags.delete(key);
    await this.cache?.delete(key);
  }

  /** Closes idle connections so that the process can exit at once. */
  destroy(): void {
    void this.connection?.then(({ client }) => client.destroy()).catch(() => {});
  }
}
