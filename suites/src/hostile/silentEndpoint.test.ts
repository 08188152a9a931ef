import { createServer, type Socket } from 'node:net';
import { temporaryDirectory } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cliAsync, writeConfig } from '../support.js';
import { assertOneLineError } from './expectations.js';

const test = suite('hostile: an S3 endpoint that accepts connections and never answers');

test('list fails with RB017 naming the endpoint, within the configured timeouts', async () => {
  const sockets: Socket[] = [];
  const server = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  try {
    const home = await temporaryDirectory('rast-hostile-silent-');
    const config = await writeConfig(
      home,
      [
        '[s3]',
        `endpoint = "${endpoint}"`,
        'bucket = "b"',
        'access_key_id = "k"',
        'secret_access_key = "s"',
        'connect_timeout_seconds = 1',
        'idle_timeout_seconds = 1',
        'max_attempts = 2',
        '',
      ].join('\n'),
    );
    const started = Date.now();
    const result = await cliAsync(['list', '--config', config], { env: { RAST_BACKUP_STATE_DIR: home }, timeoutMs: 30_000 });
    const took = Date.now() - started;
    assertOneLineError(result, 1, new RegExp(`RB017: .*${endpoint.replace(/[.]/g, '\\.')}.*idle_timeout_seconds`), 'list');
    // Two tries of 1 s and a backoff under 1 s; the rest is the CLI's start-up on a busy machine.
    assert.ok(took < 15_000, `list took ${took} ms`);
    assert.is(sockets.length, 2, 'one connection per try');
  } finally {
    for (const socket of sockets) socket.destroy();
    server.close();
  }
});

test.run();
