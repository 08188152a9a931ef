import { randomBytes } from 'node:crypto';
import { access, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, RastError } from '@rast-backup/core';
import { temporaryDirectory } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CommandOutput } from './ChildStream.js';

const test = suite('CommandOutput');

async function readAll(output: CommandOutput, sizes: number[]): Promise<{ data: Buffer; lengths: number[] }> {
  const pieces: Buffer[] = [];
  const lengths: number[] = [];
  for (let round = 0; ; round++) {
    const target = Buffer.alloc(sizes[round % sizes.length]!);
    const length = await output.fill(target);
    lengths.push(length);
    pieces.push(target.subarray(0, length));
    if (length < target.length) return { data: Buffer.concat(pieces), lengths };
  }
}

test('fills each target whole until the end, whatever the target sizes, and returns the bytes in order', async () => {
  const directory = await temporaryDirectory();
  const source = randomBytes(5 * 1024 * 1024 + 123);
  const file = path.join(directory, 'source');
  await writeFile(file, source);
  // Targets smaller than one read (the spill), of odd sizes, and larger than a pipe.
  for (const sizes of [[1000], [7, 65536, 100_003], [1024 * 1024]]) {
    const { data, lengths } = await readAll(await CommandOutput.start('cat', [file], 'cat'), sizes);
    assert.ok(data.equals(source), `targets of ${sizes.join(', ')} bytes`);
    assert.ok(
      lengths.slice(0, -1).every((length, round) => length === sizes[round % sizes.length]),
      'every target but the last is filled whole',
    );
  }
});

test('a command that fails or is missing is an error naming what was run', async () => {
  const failing = await CommandOutput.start('sh', ['-c', 'printf abc; echo "it broke" >&2; exit 3'], 'the test command');
  try {
    await failing.fill(Buffer.alloc(10));
    assert.unreachable('a failing command must throw');
  } catch (error) {
    assert.instance(error, RastError);
    assert.match((error as Error).message, /the test command: it broke/);
  }
  const missing = await CommandOutput.start('rast-no-such-command', [], 'nothing');
  try {
    await missing.fill(Buffer.alloc(10));
    assert.unreachable('a missing command must throw');
  } catch (error) {
    assert.is((error as RastError).code, ErrorCode.TOOL_MISSING);
  }
});

test('the command writes on while no target is given: its pipe holds 900 KB, not 64 KiB', async () => {
  const directory = await temporaryDirectory();
  const marker = path.join(directory, 'written');
  const output = await CommandOutput.start('sh', ['-c', `head -c 900000 /dev/zero && touch ${marker}`], 'sh');
  try {
    let written = false;
    for (let waited = 0; waited < 5000 && !written; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      written = await access(marker).then(
        () => true,
        () => false,
      );
    }
    assert.ok(written, 'the command finished writing before anything read its output');
    const { data } = await readAll(output, [1024 * 1024]);
    assert.is(data.length, 900000);
  } finally {
    await output.close();
  }
});

test('close() stops a command that still writes', async () => {
  const output = await CommandOutput.start('cat', ['/dev/zero'], 'cat');
  assert.is(await output.fill(Buffer.alloc(1024 * 1024)), 1024 * 1024);
  const stopped = await Promise.race([output.close().then(() => true), new Promise((resolve) => setTimeout(resolve, 10_000, false))]);
  assert.ok(stopped, 'cat exited within 10 s of close()');
});

test.run();
