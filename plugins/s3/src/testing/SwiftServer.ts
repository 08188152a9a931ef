import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { S3Client } from '@aws-sdk/client-s3';
import { temporaryDirectory } from '@rast-backup/core/testing';

/** Debian's python3-swift lives in the system Python, whatever `python3` is first on PATH. */
export const SWIFT_PYTHON = '/usr/bin/python3';
const LAUNCHER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-server', 'swift-server.py');

/** Whether OpenStack Swift with s3api can run here. */
export const swiftAvailable =
  spawnSync(SWIFT_PYTHON, ['-c', 'import swift.common.middleware.s3api, swift.common.wsgi'], { stdio: 'ignore' }).status === 0;

/**
 * `[s3] idle_timeout_seconds` for configs that talk to this server: on a loaded test machine it can stay silent
 * longer than the default 15 s (a DeleteObjects of 1000 keys), which is slowness, not the silence tests look for.
 */
export const SWIFT_IDLE_TIMEOUT_SECONDS = 120;

export interface SwiftServer {
  endpoint: string;
  port: number;
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts a single-node Swift with s3api on a free loopback port, state in a temporary directory. */
export async function startSwift(): Promise<SwiftServer> {
  const port = await freePort();
  const state = await temporaryDirectory('rast-swift-');
  const child = spawn(SWIFT_PYTHON, [LAUNCHER, state, String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
  running.add(child);
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  await new Promise<void>((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => reject(new Error(`swift did not start within 40 s: ${stderr}`)), 40_000);
    child.stdout!.on('data', (chunk) => {
      stdout += chunk;
      if (stdout.includes('ready ')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`swift exited with ${code}: ${stderr}`));
    });
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    accessKeyId: 'test:tester',
    secretAccessKey: 'testing',
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin!.end();
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000).unref())]);
      child.kill('SIGKILL');
      running.delete(child);
      await rm(state, { recursive: true, force: true });
    },
  };
}

/** An S3 client of the server, for tests to make buckets and look at or damage objects. */
export function s3Client(server: SwiftServer): S3Client {
  return new S3Client({
    endpoint: server.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    maxAttempts: 8,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
}
