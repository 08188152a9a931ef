// The S3 server for the S3 cases: the project's loopback OpenStack Swift with s3api (python3-swift), and a
// pass-through proxy in front of it that counts the bytes each command fetches.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import path from 'node:path';
import { startFaultProxy } from '../../plugins/s3/dist/testing/FaultProxy.js';
import { startSwift, swiftAvailable } from '../../plugins/s3/dist/testing/SwiftServer.js';
import { atExit, sh } from './workspace.mjs';

export { swiftAvailable };

/**
 * Starts Swift and the counting proxy. Returns { endpoint, proxyEndpoint, traffic, env, s3cmd(args),
 * createBucket(name), deleteBucket(name), upload(directory, bucket, prefix), stop() }: `traffic.toClient` counts the body bytes answered through
 * the proxy (reset it before a command); `env` holds the credentials for restic.
 */
export async function startS3(work) {
  const swift = await startSwift();
  atExit(() => void swift.stop());
  const proxy = await startFaultProxy(swift.port, () => undefined);
  const host = swift.endpoint.replace('http://', '');
  const config = path.join(work, 's3cfg');
  writeFileSync(
    config,
    `[default]\naccess_key = ${swift.accessKeyId}\nsecret_key = ${swift.secretAccessKey}\nhost_base = ${host}\nhost_bucket = ${host}\nuse_https = False\nsignature_v2 = False\nmultipart_chunk_size_mb = 16\n`,
  );
  const s3cmd = `s3cmd -c ${config} --no-progress`;
  return {
    endpoint: swift.endpoint,
    proxyEndpoint: proxy.endpoint,
    traffic: proxy.traffic,
    credentials: { accessKeyId: swift.accessKeyId, secretAccessKey: swift.secretAccessKey },
    env: { AWS_ACCESS_KEY_ID: swift.accessKeyId, AWS_SECRET_ACCESS_KEY: swift.secretAccessKey, AWS_DEFAULT_REGION: 'us-east-1' },
    s3cmd,
    createBucket: (name) => sh(`${s3cmd} mb s3://${name} >/dev/null`),
    deleteBucket: (name) => sh(`${s3cmd} rb --recursive --force s3://${name} >/dev/null 2>&1 || true`),
    /** Puts every file under `directory` at `prefix/<relative path>`, 32 at a time (s3cmd puts one at a time). */
    async upload(directory, bucket, prefix) {
      const client = new S3Client({
        endpoint: swift.endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        maxAttempts: 8,
        credentials: { accessKeyId: swift.accessKeyId, secretAccessKey: swift.secretAccessKey },
      });
      const files = readdirSync(directory, { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile())
        .map((entry) => path.relative(directory, path.join(entry.parentPath ?? entry.path, entry.name)));
      let next = 0;
      const put = async () => {
        for (let i = next++; i < files.length; i = next++)
          await client.send(
            new PutObjectCommand({ Bucket: bucket, Key: `${prefix}/${files[i]}`, Body: readFileSync(path.join(directory, files[i])) }),
          );
      };
      await Promise.all(Array.from({ length: 32 }, put));
      client.destroy();
    },
    async stop() {
      await proxy.close();
      await swift.stop();
    },
  };
}
