import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, RastError } from '@rast-backup/core';
import { temporaryDirectory } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { commandInput } from './ChildStream.js';

const test = suite('commandInput');

/** Yields `data` in chunks of `size`, reusing one buffer, as RestoreContext.openStream may. */
async function* reused(data: Buffer, size: number): AsyncIterable<Buffer> {
  const chunk = Buffer.alloc(size);
  for (let at = 0; at < data.length; at += size) {
    const length = data.copy(chunk, 0, at, at + size);
    yield chunk.subarray(0, length);
  }
}

test('the command reads a pipe of 1 MiB, not a socket, and gets every byte in order from a reused chunk', async () => {
  const directory = await temporaryDirectory();
  const source = randomBytes(24 * 1024 * 1024 + 17);
  const copy = path.join(directory, 'copy');
  const kind = path.join(directory, 'kind');
  // stat -L of fd 0 names its type; a Python one-liner reads the pipe's capacity (F_GETPIPE_SZ = 1032).
  const script = `stat -L -c %F /dev/stdin > ${kind}; python3 -c 'import fcntl; print(fcntl.fcntl(0, 1032))' >> ${kind}; cat > ${copy}`;
  await commandInput('sh', ['-c', script], reused(source, 16 * 1024 * 1024), 'sh');
  assert.equal((await readFile(kind, 'utf8')).split('\n').slice(0, 2), ['fifo', String(1024 * 1024)]);
  const written = await readFile(copy);
  assert.equal(createHash('sha256').update(written).digest('hex'), createHash('sha256').update(source).digest('hex'));
});

test('a command that fails is an error naming what was run', async () => {
  try {
    await commandInput(
      'sh',
      ['-c', 'head -c 10 > /dev/null; echo refused >&2; exit 3'],
      reused(randomBytes(4 * 1024 * 1024), 65536),
      'the test command',
    );
    assert.unreachable('no error');
  } catch (error) {
    assert.instance(error, RastError);
    assert.match((error as Error).message, /the test command: refused/);
  }
  try {
    await commandInput('rast-no-such-command', [], reused(randomBytes(1024), 1024), 'nothing');
    assert.unreachable('a missing command must throw');
  } catch (error) {
    assert.is((error as RastError).code, ErrorCode.TOOL_MISSING);
  }
});

test.run();
