import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { REGION_MISSING } from './S3Failure.js';
import type { S3Settings } from './S3Settings.js';

export type S3Sdk = typeof import('@aws-sdk/client-s3');

export interface S3Connection {
  sdk: S3Sdk;
  client: S3Client;
}

/**
 * The AWS SDK, loaded on first use (never for a config without [s3], nor for `--help`), and a client
 * set up for any S3-compatible store:
 * - checksums only where an operation requires them: the default CRC32 trailers and aws-chunked bodies
 *   break R2, B2, older Ceph, Swift and others;
 * - Content-MD5 on DeleteObjects, which S3 requires and the SDK no longer sends;
 * - no retries of its own: the sink retries every request, including downloads whose body is cut short;
 * - three timeouts: to connect, for a connection that moves no byte (idle), and a deadline per request that
 *   fails it (the SDK's default only warns); see S3_DEFAULTS.
 */
export async function connect(settings: S3Settings): Promise<S3Connection> {
  // The SDK's version is pinned (docs/s3.md): its notice about future releases and Node 22 is noise on stderr.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // A CommonJS package: its module.exports is the default export, in Node and in the bundle's chunk alike.
  const sdk = (await import('@aws-sdk/client-s3')).default;
  const client = new sdk.S3Client({
    endpoint: settings.endpoint,
    region: settings.region,
    forcePathStyle: settings.forcePathStyle,
    credentials: settings.credentials,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 1,
    requestHandler: {
      connectionTimeout: settings.connectTimeoutMs,
      requestTimeout: settings.requestTimeoutMs,
      socketTimeout: settings.idleTimeoutMs,
      throwOnRequestTimeout: true,
      httpAgent: { keepAlive: true, maxSockets: settings.concurrency + 4 },
      httpsAgent: { keepAlive: true, maxSockets: settings.concurrency + 4 },
    },
  });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { body?: unknown; headers?: Record<string, string> };
      if (
        context.commandName === 'DeleteObjectsCommand' &&
        request.headers &&
        (typeof request.body === 'string' || Buffer.isBuffer(request.body))
      ) {
        request.headers['content-md5'] = createHash('md5').update(request.body).digest('base64');
      }
      return next(args);
    },
    { step: 'build', priority: 'low', name: 'rastContentMd5ForDeleteObjects' },
  );
  if (settings.region === undefined) {
    try {
      await client.config.region();
    } catch (error) {
      throw Object.assign(new Error(`no region in the config or the environment (${(error as Error).message})`), { name: REGION_MISSING });
    }
  }
  return { sdk, client };
}
