import { homedir } from 'node:os';
import path from 'node:path';
import { ErrorCode, RastError } from '@rast-backup/core';
import * as t from 'typanion';

const MiB = 1024 * 1024;

/** The `[s3]` table: the seed's five keys, then what S3-compatible stores need. Every key is optional. */
export const S3_OPTIONS = {
  /** Endpoint URL of an S3-compatible store; absent for AWS (then `region` picks the endpoint). */
  endpoint: t.isOptional(t.cascade(t.isString(), [t.matchesRegExp(/^https?:\/\/[^/\s]+(\/.*)?$/)])),
  /** Access key; with `secret_access_key`. Absent: the SDK's default credential chain (environment, profiles, instance roles). */
  access_key_id: t.isOptional(t.isString()),
  secret_access_key: t.isOptional(t.isString()),
  /** Temporary credentials only (STS). */
  session_token: t.isOptional(t.isString()),
  bucket: t.isString(),
  /** Signing region; default us-east-1 with a custom endpoint, else the SDK's (AWS_REGION, profile). */
  region: t.isOptional(t.isString()),
  /** Key prefix inside the bucket, so that several hosts or repositories share one bucket. */
  prefix: t.isOptional(t.cascade(t.isString(), [t.matchesRegExp(/^[^/].*$|^$/)])),
  /** `bucket.host/key` (false) or `host/bucket/key` (true); default true with a custom endpoint. */
  force_path_style: t.isOptional(t.isBoolean()),
  /** Storage class of stored objects (STANDARD, STANDARD_IA, GLACIER_IR, …); default the bucket's. */
  storage_class: t.isOptional(t.isString()),
  /** Requests to the store at once (uploads, downloads, listings). */
  concurrency: t.isOptional(t.cascade(t.isNumber(), [t.isInteger(), t.isInInclusiveRange(1, 256)])),
  /** A request is abandoned (and retried) after this many seconds without an answer or without progress. */
  request_timeout_seconds: t.isOptional(t.cascade(t.isNumber(), [t.isInInclusiveRange(0.1, 3600)])),
  /** Tries per request, the first included, on 5xx, throttling, timeouts, resets and cut bodies. */
  max_attempts: t.isOptional(t.cascade(t.isNumber(), [t.isInteger(), t.isInInclusiveRange(1, 20)])),
  /** Objects at least this large are uploaded in several pieces (multipart upload). */
  multipart_threshold_mib: t.isOptional(t.cascade(t.isNumber(), [t.isInteger(), t.isInInclusiveRange(5, 5120)])),
  /** Size of each piece of a multipart upload (S3's minimum is 5 MiB). */
  multipart_chunk_mib: t.isOptional(t.cascade(t.isNumber(), [t.isInteger(), t.isInInclusiveRange(5, 5120)])),
  /** Directory of the local manifest cache; "" turns the cache off. */
  cache_dir: t.isOptional(t.isString()),
};

export type S3Options = { [K in keyof typeof S3_OPTIONS]: t.InferType<(typeof S3_OPTIONS)[K]> };

/** Everything the sink and its client need, normalised. */
export interface S3Settings {
  /** Sink name, used in messages and `list`'s `sinks`. */
  name: string;
  endpoint?: string;
  region?: string;
  bucket: string;
  /** Empty, or ends with `/`. */
  prefix: string;
  forcePathStyle: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  storageClass?: string;
  concurrency: number;
  requestTimeoutMs: number;
  maxAttempts: number;
  /** First delay between tries; doubles each time, with jitter. */
  retryBaseDelayMs: number;
  multipartThreshold: number;
  multipartChunkSize: number;
  /** Undefined: no manifest cache. */
  cacheDirectory?: string;
}

export const S3_DEFAULTS = {
  concurrency: 8,
  requestTimeoutSeconds: 120,
  maxAttempts: 5,
  retryBaseDelayMs: 200,
  multipartThresholdMib: 32,
  multipartChunkMib: 16,
};

/** The manifest cache's default home: /var/cache for root, the XDG cache directory otherwise. */
export function defaultCacheDirectory(environment: NodeJS.ProcessEnv = process.env): string {
  if (process.getuid?.() === 0) return '/var/cache/rast/backup';
  return path.join(environment.XDG_CACHE_HOME || path.join(homedir(), '.cache'), 'rast-backup');
}

/** Checks what typanion cannot (keys that go together) and fills in the defaults. */
export function normaliseSettings(options: S3Options, where: string, configDirectory: string): S3Settings {
  const invalid = (key: string, message: string) => new RastError(ErrorCode.CONFIG_INVALID, `${where}: s3.${key}: ${message}`, { key: `s3.${key}` });
  if ((options.access_key_id === undefined) !== (options.secret_access_key === undefined)) {
    throw invalid(options.access_key_id === undefined ? 'access_key_id' : 'secret_access_key', 'access_key_id and secret_access_key go together: set both, or neither to use the default credential chain');
  }
  if (options.session_token !== undefined && options.access_key_id === undefined) throw invalid('session_token', 'needs access_key_id and secret_access_key');
  const threshold = (options.multipart_threshold_mib ?? S3_DEFAULTS.multipartThresholdMib) * MiB;
  const chunk = (options.multipart_chunk_mib ?? S3_DEFAULTS.multipartChunkMib) * MiB;
  if (chunk > threshold) throw invalid('multipart_chunk_mib', `${chunk / MiB} is larger than multipart_threshold_mib (${threshold / MiB})`);
  const endpoint = options.endpoint?.replace(/\/+$/, '');
  const prefix = options.prefix ? options.prefix.replace(/\/*$/, '/') : '';
  const cacheDirectory = options.cache_dir === '' ? undefined : path.resolve(configDirectory, options.cache_dir ?? defaultCacheDirectory());
  return {
    name: 's3',
    endpoint,
    region: options.region ?? (endpoint ? 'us-east-1' : undefined),
    bucket: options.bucket,
    prefix,
    forcePathStyle: options.force_path_style ?? endpoint !== undefined,
    credentials: options.access_key_id !== undefined ? { accessKeyId: options.access_key_id, secretAccessKey: options.secret_access_key!, sessionToken: options.session_token } : undefined,
    storageClass: options.storage_class,
    concurrency: options.concurrency ?? S3_DEFAULTS.concurrency,
    requestTimeoutMs: (options.request_timeout_seconds ?? S3_DEFAULTS.requestTimeoutSeconds) * 1000,
    maxAttempts: options.max_attempts ?? S3_DEFAULTS.maxAttempts,
    retryBaseDelayMs: S3_DEFAULTS.retryBaseDelayMs,
    multipartThreshold: threshold,
    multipartChunkSize: chunk,
    cacheDirectory,
  };
}

/** `s3://bucket/prefix at endpoint`, for messages and `list`. */
export function describeLocation(settings: Pick<S3Settings, 'endpoint' | 'region' | 'bucket' | 'prefix'>): string {
  const where = settings.endpoint ?? `AWS ${settings.region ?? '(region from the environment)'}`;
  return `s3://${settings.bucket}/${settings.prefix} at ${where}`;
}
