import { createServer, type Socket } from 'node:net';
import { ErrorCode, type RastError } from '@rast-backup/core';
import { silentLogger } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { S3Sink } from './S3Sink.js';
import { normaliseSettings, silentEndpointFailsWithinMs, type S3Options } from './S3Settings.js';

/** A loopback TCP server that accepts connections and never answers. */
async function silentServer(): Promise<{ endpoint: string; connections: () => number; close: () => Promise<void> }> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    connections: () => sockets.length,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const test = suite('s3 timeouts');

test('with the default settings, an endpoint that accepts and never answers fails a request within 60 s', () => {
  const settings = normaliseSettings({ bucket: 'b', endpoint: 'http://127.0.0.1:1' } as S3Options, 'test config');
  const worst = silentEndpointFailsWithinMs(settings);
  assert.ok(worst < 60_000, `the defaults let a silent endpoint hold a request for ${worst} ms`);
  assert.ok(settings.requestTimeoutMs >= 300_000, 'the per-request deadline leaves a slow upload minutes');
});

test('a sink whose endpoint accepts and never answers fails with RB017 naming the endpoint, after max_attempts tries', async () => {
  const server = await silentServer();
  try {
    const options = {
      bucket: 'b',
      endpoint: server.endpoint,
      access_key_id: 'k',
      secret_access_key: 's',
      connect_timeout_seconds: 1,
      idle_timeout_seconds: 0.5,
      max_attempts: 3,
    };
    const settings = normaliseSettings(options as S3Options, 'test config');
    const sink = new S3Sink(settings, silentLogger());
    const started = Date.now();
    let failure: RastError | undefined;
    try {
      for await (const object of sink.list('backups/')) void object;
    } catch (error) {
      failure = error as RastError;
    }
    const took = Date.now() - started;
    assert.ok(failure, 'listing a silent endpoint failed');
    assert.is(failure!.code, ErrorCode.SINK_FAILED);
    assert.ok(failure!.message.includes(server.endpoint), `the message names the endpoint: ${failure!.message}`);
    assert.match(failure!.message, /idle_timeout_seconds/);
    assert.is(server.connections(), 3, 'one connection per try');
    assert.ok(took <= silentEndpointFailsWithinMs(settings) + 2000, `failed after ${took} ms`);
  } finally {
    await server.close();
  }
});

test.run();
