import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, type RastError } from '@rast-backup/core';
import { isRoot, temporaryDirectory, testNeeding } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Attribute, Command, SendStreamDecoder, sendCrc } from './SendStreamDecoder.js';
import { SendStreamWriter } from './testing/SendStreamWriter.js';

const hasBtrfs = spawnSync('btrfs', ['--version']).status === 0 && spawnSync('mkfs.btrfs', ['--version']).status === 0;

function decode(stream: Buffer, chunkSize = 7) {
  const commands: number[] = [];
  const decoder = new SendStreamDecoder('test stream', (command) => commands.push(command.type));
  for (let offset = 0; offset < stream.length; offset += chunkSize) decoder.push(stream.subarray(offset, offset + chunkSize));
  decoder.finish();
  return commands;
}

function expectDamage(stream: Buffer, message: RegExp) {
  try {
    decode(stream);
    assert.unreachable('damage not detected');
  } catch (error) {
    assert.is((error as RastError).code, ErrorCode.STREAM_DAMAGED);
    assert.match((error as Error).message, message);
  }
}

/** A minimal valid stream: header and one END command. */
function endOnly(version = 1): Buffer {
  const header = Buffer.concat([Buffer.from('btrfs-stream\0'), Buffer.from([version, 0, 0, 0])]);
  return Buffer.concat([header, Buffer.from('00000000150050' + '6cc99d', 'hex')]);
}

// ---

const decoder = suite('send-stream decoder');

decoder('the CRC is CRC-32C with seed 0 and no final inversion (the research notes test vectors)', () => {
  assert.is(sendCrc(Buffer.from('123456789')), 0x58e3fa20);
  assert.is(sendCrc(Buffer.from('00000000150000000000', 'hex')), 0x9dc96c50);
});

decoder('decodes a stream fed in odd-sized chunks, and concatenated streams', () => {
  assert.equal(decode(endOnly()), [Command.END]);
  assert.equal(decode(Buffer.concat([endOnly(1), endOnly(2)]), 3), [Command.END, Command.END]);
});

decoder('a flipped bit, a truncated stream, a missing END and a bad header are damage with the byte offset', () => {
  const flipped = endOnly();
  flipped[22] ^= 1;
  expectDamage(flipped, /damaged at byte 17: CRC32C mismatch in command/);
  expectDamage(endOnly().subarray(0, 22), /truncated command at the end/);
  expectDamage(endOnly().subarray(0, 17), /ends without an END command/);
  expectDamage(Buffer.concat([Buffer.from('not-a-stream!'), Buffer.alloc(20)]), /damaged at byte 0: no btrfs-stream header/);
});

decoder("a stored backup's damage carries the backup, the byte and the problem as facts, for the part to be added", () => {
  const flipped = endOnly();
  flipped[22] ^= 1;
  try {
    new SendStreamDecoder({ backup: '20261203-160000-aaaa' }, () => {}).push(flipped);
    assert.unreachable('damage not detected');
  } catch (error) {
    const { message, facts } = error as RastError;
    assert.match(message, /^backup 20261203-160000-aaaa: send stream damaged at byte 17: CRC32C mismatch/);
    assert.is(facts.backup, '20261203-160000-aaaa');
    assert.is(facts.offset, 17);
    assert.match(String(facts.problem), /^send stream damaged at byte 17: CRC32C/);
  }
});

decoder("each command's attributes are its own: none is left over from the command before, in any chunking", () => {
  const stream = new SendStreamWriter()
    .command(Command.CHMOD, [
      [Attribute.PATH, 'a/first'],
      [Attribute.MODE, 0o644n],
    ])
    .command(Command.UNLINK, [[Attribute.PATH, 'b']])
    .command(Command.CHOWN, [
      [Attribute.PATH, 'c/third'],
      [Attribute.UID, 7n],
      [Attribute.GID, 8n],
    ])
    .command(Command.END)
    .bytes();
  for (const chunkSize of [1, 7, 13, stream.length]) {
    const seen: string[] = [];
    const decoding = new SendStreamDecoder('test stream', ({ type, attributes }) => {
      const listed = [...attributes]
        .sort(([a], [b]) => a - b)
        .map(([attribute, value]) => `${attribute}=${value.toString('hex')}`)
        .join(' ');
      const mode = attributes.has(Attribute.MODE) ? attributes.get(Attribute.MODE)!.readBigUInt64LE(0) : 'none';
      seen.push(`${type} ${attributes.get(Attribute.PATH)?.toString('latin1') ?? '-'} mode ${mode} [${listed}]`);
    });
    for (let offset = 0; offset < stream.length; offset += chunkSize)
      decoding.push(Buffer.from(stream.subarray(offset, offset + chunkSize)));
    decoding.finish();
    const hex = (text: string) => Buffer.from(text, 'latin1').toString('hex');
    const u64 = (value: number) => Buffer.from(new BigUint64Array([BigInt(value)]).buffer).toString('hex');
    assert.equal(
      seen,
      [
        `${Command.CHMOD} a/first mode 420 [${Attribute.MODE}=${u64(0o644)} ${Attribute.PATH}=${hex('a/first')}]`,
        `${Command.UNLINK} b mode none [${Attribute.PATH}=${hex('b')}]`,
        `${Command.CHOWN} c/third mode none [${Attribute.UID}=${u64(7)} ${Attribute.GID}=${u64(8)} ${Attribute.PATH}=${hex('c/third')}]`,
        `${Command.END} - mode none []`,
      ],
      `chunks of ${chunkSize} bytes`,
    );
  }
});

testNeeding(
  decoder,
  isRoot && hasBtrfs,
  'root and btrfs-progs',
  'real v1 and v2 streams decode to the same commands btrfs receive --dump reads',
  async () => {
    const home = await temporaryDirectory('rast-send-');
    const mountPoint = path.join(home, 'mnt');
    await mkdir(mountPoint);
    spawnSync('truncate', ['-s', '300M', path.join(home, 'fs.img')]);
    spawnSync('mkfs.btrfs', ['-q', '-f', path.join(home, 'fs.img')]);
    assert.is(spawnSync('mount', ['-o', 'loop', path.join(home, 'fs.img'), mountPoint]).status, 0);
    try {
      spawnSync('btrfs', ['subvolume', 'create', path.join(mountPoint, 'data')]);
      await writeFile(path.join(mountPoint, 'data', 'big'), Buffer.alloc(500_000, 'x'));
      await writeFile(path.join(mountPoint, 'data', 'small'), 'small');
      spawnSync('btrfs', ['subvolume', 'snapshot', '-r', path.join(mountPoint, 'data'), path.join(mountPoint, 'snap')]);
      for (const proto of ['1', '2']) {
        const stream = spawnSync('btrfs', ['send', '-q', '--proto', proto, path.join(mountPoint, 'snap')], { maxBuffer: 1 << 26 }).stdout;
        const dump = spawnSync('btrfs', ['receive', '--dump'], { input: stream, encoding: 'utf8', maxBuffer: 1 << 26 }).stdout;
        const dumped = dump.trim().split('\n').length;
        const commands = decode(stream, 65536);
        // --dump prints every command but END.
        assert.is(commands.length, dumped + 1, `protocol ${proto}`);
        assert.is(
          commands.filter((type) => type === Command.WRITE).length,
          dump.split('\n').filter((line) => line.startsWith('write')).length,
        );
      }
    } finally {
      spawnSync('umount', [mountPoint]);
    }
  },
);

decoder.run();
