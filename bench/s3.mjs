#!/usr/bin/env node
// Upload and download throughput of the S3 sink against `s3cmd put/get` of the same bytes, on the loopback
// Swift test server (python3-swift, s3cmd). Usage: node bench/s3.mjs [MiB=256] [part MiB=16]
// Run `npm run build` first.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { normaliseSettings, S3Sink } from '@rast-backup/plugin-s3';
import { startSwift } from '../plugins/s3/dist/testing/SwiftServer.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const MiB = 1024 * 1024;
const total = Number(process.argv[2] ?? 256) * MiB;
const partSize = Number(process.argv[3] ?? 16) * MiB;
const swift = await startSwift();
const work = await mkdtemp(path.join(tmpdir(), 'rast-bench-'));
try {
  const client = new S3Client({ endpoint: swift.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: swift.accessKeyId, secretAccessKey: swift.secretAccessKey } });
  await client.send(new CreateBucketCommand({ Bucket: 'bench' }));
  client.destroy();
  const settings = normaliseSettings({ endpoint: swift.endpoint, access_key_id: swift.accessKeyId, secret_access_key: swift.secretAccessKey, bucket: 'bench', prefix: 'sink', cache_dir: '' }, 'bench', '/');
  const sink = new S3Sink(settings, { info() {}, warn: console.warn });
  const parts = Array.from({ length: Math.ceil(total / partSize) }, () => randomBytes(partSize));
  const rate = (bytes, ms) => `${((bytes / MiB) / (ms / 1000)).toFixed(1)} MiB/s`;
  const inFlight = 3; // [backup] concurrency's default

  let started = performance.now();
  for (let index = 0; index < parts.length; index += inFlight) {
    await Promise.all(parts.slice(index, index + inFlight).map((part, offset) => sink.put(`data/bench/${String(index + offset).padStart(6, '0')}.part`, part)));
  }
  const upload = performance.now() - started;
  started = performance.now();
  for (let index = 0; index < parts.length; index += inFlight) {
    await Promise.all(parts.slice(index, index + inFlight).map((_, offset) => sink.get(`data/bench/${String(index + offset).padStart(6, '0')}.part`)));
  }
  const download = performance.now() - started;

  const file = path.join(work, 'blob');
  await writeFile(file, Buffer.concat(parts));
  const s3cfg = path.join(work, 's3cfg');
  const hostPort = swift.endpoint.replace('http://', '');
  await writeFile(s3cfg, `[default]\naccess_key = ${swift.accessKeyId}\nsecret_key = ${swift.secretAccessKey}\nhost_base = ${hostPort}\nhost_bucket = ${hostPort}\nuse_https = False\nsignature_v2 = False\nmultipart_chunk_size_mb = ${partSize / MiB}\n`);
  started = performance.now();
  const put = spawnSync('s3cmd', ['-c', s3cfg, '--no-progress', 'put', file, 's3://bench/s3cmd/blob'], { encoding: 'utf8' });
  const s3cmdUpload = performance.now() - started;
  started = performance.now();
  const get = spawnSync('s3cmd', ['-c', s3cfg, '--no-progress', '--force', 'get', 's3://bench/s3cmd/blob', `${file}.back`], { encoding: 'utf8' });
  const s3cmdDownload = performance.now() - started;
  if (put.status !== 0 || get.status !== 0) throw new Error(`s3cmd failed: ${put.stderr}${get.stderr}`);

  console.log(`${total / MiB} MiB in ${parts.length} parts of ${partSize / MiB} MiB, loopback Swift s3api`);
  console.log(`rast-backup S3 sink  upload ${rate(total, upload).padStart(12)}   download ${rate(total, download).padStart(12)}   (${inFlight} parts in flight)`);
  console.log(`s3cmd put/get        upload ${rate(total, s3cmdUpload).padStart(12)}   download ${rate(total, s3cmdDownload).padStart(12)}`);
  console.log(`peak RSS of this process: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB (parts held in memory: ${total / MiB} MiB)`);
  sink.destroy();
} finally {
  await swift.stop();
  await rm(work, { recursive: true, force: true });
}
