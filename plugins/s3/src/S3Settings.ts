import { configKeyInvalid } from '@rast-backup/core';
import * as t from 'typanion';
import { backoffCeilingMs } from './Retry.js';

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
  /** A connection not established after this many seconds is abandoned (and the request retried). */
  connect_timeout_seconds: t.isOptional(t.cascade(t.isNumber(), [t.isInInclusiveRange(0.1, 600)])),
  /** A request whose connection moves no byte for this many seconds (no answer yet, or a stalled transfer) is abandoned and retried. */
  idle_timeout_seconds: t.isOptional(t.cascade(t.isNumber(), [t.isInInclusiveRange(0.1, 3600)])),
  /** Deadline of one request, from its start until its answer begins (a whole upload included): abandoned and retried after it. */
  request_timeout_seconds: t.isOptional(t.cascade(t.isNumber(), [t.isInInclusiveRange(0.1, 86400)])),
  /** Tries per request, the first included, on 5xx, throttling, timeouts, resets and cut bodies. */
  max_attempts: t.isOptional(t.cascade(t.isNumber(), [t.isInteger(), t.isInInclusiveRange(1, 20)])),
  /** Objects at least this large are uploaded in several pieces (multipart upload). */
  multipart_threshold_mib: t.isOptional(t.cascade(t.isNumber(), [t.isInteger(), t.isInInclusiveRange(5, 5120)])),
  /** Size of each piece of a multipart upload (S3's minimum is 5 MiB). */
  multipart_chunk_mib: t.isOptional(t.cascade(t.isNumber(), [t.isInteger(), t.isInInclusiveRange(5, 5120)])),
  /** No longer used (manifests are cached for every sink in the state directory); accepted so that older configs load. */
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
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  requestTimeoutMs: number;
  maxAttempts: number;
  /** First delay between tries; doubles each time, with jitter. */
  retryBaseDelayMs: number;
  multipartThreshold: number;
  multipartChunkSize: number;
}

/**
 * The timeouts are chosen so that an endpoint that accepts connections and never answers fails a command
 * within a minute (silentEndpointFailsWithinMs), while a long upload on a slow link only needs to keep moving.
 */
export const S3_DEFAULTS = {
  concurrency: 8,
  connectTimeoutSeconds: 3,
  idleTimeoutSeconds: 12,
  requestTimeoutSeconds: 600,
  maxAttempts: 3,
  retryBaseDelayMs: 200,
  multipartThresholdMib: 32,
  multipartChunkMib: 16,
};

/** Checks what typanion cannot (keys that go together) and fills in the defaults. */
export function normaliseSettings(options: S3Options, where: string): S3Settings {
  const invalid = (key: string, message: string) => configKeyInvalid(where, `s3.${key}`, message);
  if ((options.access_key_id === undefined) !== (options.secret_access_key === undefined)) {
    throw invalid(
      options.access_key_id === undefined ? 'access_key_id' : 'secret_access_key',
      'access_key_id and secret_access_key go together: set both, or neither to use the default credential chain',
    );
  }
  if (options.session_token !== undefined && options.access_key_id === undefined)
    throw invalid('session_token', 'needs access_key_id and secret_access_key');
  const threshold = (options.multipart_threshold_mib ?? S3_DEFAULTS.multipartThresholdMib) * MiB;
  const chunk = (options.multipart_chunk_mib ?? S3_DEFAULTS.multipartChunkMib) * MiB;
  if (chunk > threshold) throw invalid('multipart_chunk_mib', `${chunk / MiB} is larger than multipart_threshold_mib (${threshold / MiB})`);
  const endpoint = options.endpoint?.replace(/\/+$/, '');
  const prefix = options.prefix ? options.prefix.replace(/\/*$/, '/') : '';
  return {
    name: 's3',
    endpoint,
    region: options.region ?? (endpoint ? 'us-east-1' : undefined),
    bucket: options.bucket,
    prefix,
    forcePathStyle: options.force_path_style ?? endpoint !== undefined,
    credentials:
      options.access_key_id !== undefined
        ? { accessKeyId: options.access_key_id, secretAccessKey: options.secret_access_key!, sessionToken: options.session_token }
        : undefined,
    storageClass: options.storage_class,
    concurrency: options.concurrency ?? S3_DEFAULTS.concurrency,
    connectTimeoutMs: (options.connect_timeout_seconds ?? S3_DEFAULTS.connectTimeoutSeconds) * 1000,
    idleTimeoutMs: (options.idle_timeout_seconds ?? S3_DEFAULTS.idleTimeoutSeconds) * 1000,
    requestTimeoutMs: (options.request_timeout_seconds ?? S3_DEFAULTS.requestTimeoutSeconds) * 1000,
    maxAttempts: options.max_attempts ?? S3_DEFAULTS.maxAttempts,
    retryBaseDelayMs: S3_DEFAULTS.retryBaseDelayMs,
    multipartThreshold: threshold,
    multipartChunkSize: chunk,
  };
}

/** The AWS SDK's HTTP handler starts watching a socket for inactivity this late when the idle timeout is 6 s or more. */
const IDLE_WATCH_DELAY_MS = 3000;

/**
 * How long a request to an endpoint that accepts the connection and never answers takes to fail, at most:
 * every try waits for the connection, then for the idle timeout; the backoff between tries adds up to its ceilings.
 */
export function silentEndpointFailsWithinMs(
  settings: Pick<S3Settings, 'connectTimeoutMs' | 'idleTimeoutMs' | 'maxAttempts' | 'retryBaseDelayMs'>,
): number {
  const watchStarts = settings.idleTimeoutMs >= 6000 ? Math.max(settings.connectTimeoutMs, IDLE_WATCH_DELAY_MS) : settings.connectTimeoutMs;
  let backoff = 0;
  for (let tryNumber = 1; tryNumber < settings.maxAttempts; tryNumber++)
    backoff += backoffCeilingMs({ attempts: settings.maxAttempts, baseDelayMs: settings.retryBaseDelayMs }, tryNumber);
  return settings.maxAttempts * (watchStarts + settings.idleTimeoutMs) + backoff;
}

/** `s3://bucket/prefix at endpoint`, for messages and `list`. */
export function describeLocation(settings: Pick<S3Settings, 'endpoint' | 'region' | 'bucket' | 'prefix'>): string {
  const where = settings.endpoint ?? `AWS ${settings.region ?? '(region from the environment)'}`;
  return `s3://${settings.bucket}/${settings.prefix} at ${where}`;
}
