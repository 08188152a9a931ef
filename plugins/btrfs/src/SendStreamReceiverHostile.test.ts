import { mkdir, writeFile, symlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ErrorCode, RastError } from '@rast-backup/core';
import { isRoot, temporaryDirectory } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Attribute, Command } from './SendStreamDecoder.js';
import { SendStreamReceiver } from './SendStreamReceiver.js';
import { SendStreamWriter, u32, u64 } from './testing/SendStreamWriter.js';
import { fingerprint } from './testing/TreeFingerprint.js';

/** A destination inside a directory holding things a hostile stream would like to reach. */
async function sandbox() {
  const outer = await temporaryDirectory('rast-hostile-');
  await writeFile(path.join(outer, 'sentinel'), 'must not change');
  await mkdir(path.join(outer, 'victim-dir'));
  await symlink(path.join(outer, 'victim-dir'), path.join(outer, 'victim-link'));
  const destination = path.join(outer, 'destination');
  await mkdir(destination);
  return { outer, destination };
}

async function receive(destination: string, streams: Buffer[]) {
  const receiver = new SendStreamReceiver(destination, { isRoot, onBtrfs: false });
  try {
    for (const [index, stream] of streams.entries()) await receiver.receive(`backup b${index}`, Readable.from([stream]));
    return receiver.finish();
  } catch (error) {
    receiver.abandon();
    throw error;
  }
}

/** The stream must fail with `code` and a message naming the backup, the byte offset and `pattern`; nothing outside the destination may change. */
async function refused(
  build: (stream: SendStreamWriter) => SendStreamWriter | Buffer,
  code: ErrorCode,
  pattern: RegExp,
  more: Buffer[] = [],
) {
  const { outer, destination } = await sandbox();
  const before = fingerprint(outer, { ignore: ['destination'] });
  const built = build(new SendStreamWriter().subvolume());
  const stream = Buffer.isBuffer(built) ? built : built.end().bytes();
  const error = await receive(destination, [stream, ...more]).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  assert.instance(error, RastError, `refused (${String(error)})`);
  assert.is((error as RastError).code, code, (error as Error).message);
  assert.match((error as Error).message, /^backup b\d: /);
  assert.match((error as Error).message, pattern);
  assert.equal(fingerprint(outer, { ignore: ['destination'] }), before, 'nothing outside the destination changed');
  assert.equal(
    (await import('node:fs')).readdirSync(destination).filter((name) => name.startsWith('.rast-receive-')),
    [],
    'the stash is removed',
  );
}

// ---

const hostile = suite('user-space receiver, hostile and damaged streams');

hostile('a .. component is refused before anything is created', () =>
  refused((s) => s.mkfile('../escape'), ErrorCode.RESTORE_UNSAFE, /byte \d+, MKFILE "..\/escape": refused: .*'..' component/),
);

hostile('an absolute path is refused', () =>
  refused((s) => s.mkfile('/tmp/escape'), ErrorCode.RESTORE_UNSAFE, /MKFILE "\/tmp\/escape": refused: an absolute path/),
);

hostile('empty and . components are refused', async () => {
  await refused((s) => s.mkfile('a//b'), ErrorCode.RESTORE_UNSAFE, /'' component/);
  await refused((s) => s.mkdir('./a'), ErrorCode.RESTORE_UNSAFE, /'\.' component/);
  await refused((s) => s.mkfile(''), ErrorCode.RESTORE_UNSAFE, /empty path names the root/);
});

hostile('a NUL byte in a path is refused', () => refused((s) => s.mkfile('a\0b'), ErrorCode.RESTORE_UNSAFE, /NUL byte/));

hostile('a name longer than 255 bytes is refused', () =>
  refused((s) => s.mkfile('x'.repeat(256)), ErrorCode.RESTORE_UNSAFE, /longer than 255/),
);

hostile('nothing is written, created, linked or renamed through a symlink the stream made', async () => {
  for (const target of ['..', '../victim-dir', '/']) {
    await refused(
      (s) => s.symlink('link', target).mkfile('link/escape'),
      ErrorCode.RESTORE_UNSAFE,
      /goes through "link", which is a symlink/,
    );
    await refused((s) => s.symlink('link', target).mkdir('link/escape'), ErrorCode.RESTORE_UNSAFE, /which is a symlink/);
    await refused(
      (s) =>
        s
          .symlink('link', target)
          .mkfile('f')
          .command(Command.RENAME, [
            [Attribute.PATH, 'f'],
            [Attribute.PATH_TO, 'link/f'],
          ]),
      ErrorCode.RESTORE_UNSAFE,
      /which is a symlink/,
    );
    await refused(
      (s) =>
        s
          .symlink('link', target)
          .mkfile('f')
          .command(Command.LINK, [
            [Attribute.PATH, 'link/f'],
            [Attribute.PATH_LINK, 'f'],
          ]),
      ErrorCode.RESTORE_UNSAFE,
      /which is a symlink/,
    );
  }
  await refused(
    (s) => s.symlink('link', '../sentinel').write('link', 0, 'overwritten'),
    ErrorCode.STREAM_DAMAGED,
    /WRITE "link": file data for "link", which is a symlink/,
  );
  await refused(
    (s) =>
      s.symlink('link', '../sentinel').command(Command.TRUNCATE, [
        [Attribute.PATH, 'link'],
        [Attribute.SIZE, 0n],
      ]),
    ErrorCode.STREAM_DAMAGED,
    /which is a symlink/,
  );
});

hostile('owner, mode and times of a symlink never reach its target', async () => {
  const { outer, destination } = await sandbox();
  const before = fingerprint(outer, { ignore: ['destination'] });
  const stream = new SendStreamWriter()
    .subvolume()
    .symlink('link', path.join(outer, 'sentinel'))
    .command(Command.CHOWN, [
      [Attribute.PATH, 'link'],
      [Attribute.UID, 4321n],
      [Attribute.GID, 4321n],
    ])
    .command(Command.CHMOD, [
      [Attribute.PATH, 'link'],
      [Attribute.MODE, 0o4777n],
    ])
    .command(Command.UTIMES, [
      [Attribute.PATH, 'link'],
      [Attribute.ATIME, Buffer.concat([u64(1), u32(0)])],
      [Attribute.MTIME, Buffer.concat([u64(1), u32(0)])],
      [Attribute.CTIME, Buffer.concat([u64(1), u32(0)])],
    ])
    .command(Command.SET_XATTR, [
      [Attribute.PATH, 'link'],
      [Attribute.XATTR_NAME, 'trusted.x'],
      [Attribute.XATTR_DATA, 'y'],
    ])
    .end()
    .bytes();
  await receive(destination, [stream]);
  assert.equal(fingerprint(outer, { ignore: ['destination'] }), before, 'the symlink target is unchanged');
});

hostile('renames onto or out of the root, or of a directory into itself, are refused', async () => {
  await refused(
    (s) =>
      s.mkdir('d').command(Command.RENAME, [
        [Attribute.PATH, ''],
        [Attribute.PATH_TO, 'd/root'],
      ]),
    ErrorCode.RESTORE_UNSAFE,
    /empty path names the root/,
  );
  await refused(
    (s) =>
      s.mkdir('d').command(Command.RENAME, [
        [Attribute.PATH, 'd'],
        [Attribute.PATH_TO, ''],
      ]),
    ErrorCode.RESTORE_UNSAFE,
    /empty path names the root/,
  );
  await refused(
    (s) =>
      s.mkdir('d').command(Command.RENAME, [
        [Attribute.PATH, 'd'],
        [Attribute.PATH_TO, 'd/inside'],
      ]),
    ErrorCode.RESTORE_UNSAFE,
    /moves directory "d" into itself/,
  );
  await refused(
    (s) =>
      s.mkdir('d').command(Command.LINK, [
        [Attribute.PATH, 'e'],
        [Attribute.PATH_LINK, 'd'],
      ]),
    ErrorCode.RESTORE_UNSAFE,
    /hard-links directory/,
  );
});

hostile('a CLONE from outside the chain, or from a path outside the tree, is refused', async () => {
  const clone = (uuid: Buffer, from: string) => (s: SendStreamWriter) =>
    s
      .mkfile('a')
      .write('a', 0, 'data')
      .mkfile('b', 301n)
      .command(Command.CLONE, [
        [Attribute.FILE_OFFSET, 0n],
        [Attribute.CLONE_LEN, 4n],
        [Attribute.PATH, 'b'],
        [Attribute.CLONE_UUID, uuid],
        [Attribute.CLONE_CTRANSID, 7n],
        [Attribute.CLONE_PATH, from],
        [Attribute.CLONE_OFFSET, 0n],
      ]);
  await refused(
    clone(Buffer.alloc(16, 9), 'a'),
    ErrorCode.RESTORE_UNSAFE,
    /CLONE "b": refused: CLONE from subvolume 0909.*neither this backup nor its parent/,
  );
  await refused(clone(Buffer.alloc(16, 1), '../sentinel'), ErrorCode.RESTORE_UNSAFE, /'..' component/);
  await refused(clone(Buffer.alloc(16, 1), 'missing'), ErrorCode.RESTORE_UNSAFE, /"missing" does not exist/);
});

hostile('absurd numbers and lengths are refused', async () => {
  await refused((s) => s.mkfile('a').write('a', 1n << 62n, 'x'), ErrorCode.STREAM_DAMAGED, /beyond any real value/);
  await refused(
    (s) =>
      s.mkfile('a').command(Command.TRUNCATE, [
        [Attribute.PATH, 'a'],
        [Attribute.SIZE, 1n << 60n],
      ]),
    ErrorCode.STREAM_DAMAGED,
    /beyond any real value/,
  );
  await refused(
    (s) =>
      s.mkfile('a').command(Command.ENCODED_WRITE, [
        [Attribute.PATH, 'a'],
        [Attribute.FILE_OFFSET, 0n],
        [Attribute.UNENCODED_FILE_LEN, 1n << 40n],
        [Attribute.UNENCODED_LEN, 1n << 40n],
        [Attribute.UNENCODED_OFFSET, 0n],
        [Attribute.COMPRESSION, u32(2)],
        [Attribute.DATA, 'zz'],
      ]),
    ErrorCode.STREAM_DAMAGED,
    /encoded extent of \d+ bytes/,
  );
  await refused(
    (s) => {
      const bytes = s.mkfile('a').end().bytes();
      bytes.writeUInt32LE(0xffffffff, 17);
      return bytes;
    },
    ErrorCode.STREAM_DAMAGED,
    /beyond any real command/,
  );
});

hostile('attributes missing or shorter than their type are refused as damage', async () => {
  await refused(
    (s) =>
      s.mkfile('a').command(Command.WRITE, [
        [Attribute.PATH, 'a'],
        [Attribute.FILE_OFFSET, u32(0)],
        [Attribute.DATA, 'x'],
      ]),
    ErrorCode.STREAM_DAMAGED,
    /WRITE "a": attribute FILE_OFFSET \(18\) is 4 bytes, not 8/,
  );
  await refused(
    (s) =>
      s.mkfile('a').command(Command.WRITE, [
        [Attribute.PATH, 'a'],
        [Attribute.FILE_OFFSET, 0n],
      ]),
    ErrorCode.STREAM_DAMAGED,
    /WRITE "a": the command lacks attribute DATA \(19\)/,
  );
  await refused(
    (s) =>
      s.mkfile('a').command(Command.FALLOCATE, [
        [Attribute.PATH, 'a'],
        [Attribute.FALLOCATE_MODE, Buffer.alloc(2)],
        [Attribute.FILE_OFFSET, 0n],
        [Attribute.SIZE, 1n],
      ]),
    ErrorCode.STREAM_DAMAGED,
    /attribute FALLOCATE_MODE \(25\) is 2 bytes, not 4/,
  );
  await refused(
    (s) =>
      s.mkfile('a').command(Command.UTIMES, [
        [Attribute.PATH, 'a'],
        [Attribute.MTIME, u64(1)],
      ]),
    ErrorCode.STREAM_DAMAGED,
    /UTIMES "a": attribute MTIME \(10\) is 8 bytes, not 12/,
  );
  await refused(
    (s) =>
      s.mkfile('a').command(Command.SET_XATTR, [
        [Attribute.PATH, 'a'],
        [Attribute.XATTR_NAME, 'user.x'],
      ]),
    ErrorCode.STREAM_DAMAGED,
    /^backup b0: send stream at byte \d+, SET_XATTR "a": the command lacks attribute XATTR_DATA \(14\)$/,
  );
  await refused(
    (s) =>
      s.command(Command.MKNOD, [
        [Attribute.PATH, 'dev'],
        [Attribute.MODE, 0o020600n],
      ]),
    ErrorCode.STREAM_DAMAGED,
    /MKNOD "dev": the command lacks attribute RDEV \(8\)$/,
  );
  await refused(
    (s) =>
      s.mkfile('a').command(Command.UTIMES, [
        [Attribute.PATH, 'a'],
        [Attribute.MTIME, Buffer.alloc(12)],
        [Attribute.CTIME, Buffer.alloc(12)],
      ]),
    ErrorCode.STREAM_DAMAGED,
    /UTIMES "a": the command lacks attribute ATIME \(11\)$/,
  );
});

hostile('a bad CRC, a truncated stream, and a stream without END are refused', async () => {
  await refused(
    (s) =>
      s.mkfile('a').command(
        Command.MKFILE,
        [
          [Attribute.PATH, 'b'],
          [Attribute.INO, 301n],
        ],
        { badCrc: true },
      ),
    ErrorCode.STREAM_DAMAGED,
    /CRC32C mismatch/,
  );
  await refused((s) => s.mkfile('a').end().bytes().subarray(0, -5), ErrorCode.STREAM_DAMAGED, /truncated command/);
  await refused((s) => s.mkfile('a').bytes(), ErrorCode.STREAM_DAMAGED, /without an END/);
});

hostile('a chain must be one subvolume and its incrementals', async () => {
  const snapshot = (parent: Buffer) =>
    new SendStreamWriter()
      .command(Command.SNAPSHOT, [
        [Attribute.PATH, 's'],
        [Attribute.UUID, Buffer.alloc(16, 2)],
        [Attribute.CTRANSID, 8n],
        [Attribute.CLONE_UUID, parent],
        [Attribute.CLONE_CTRANSID, 7n],
      ])
      .end()
      .bytes();
  await refused((s) => s.subvolume(), ErrorCode.STREAM_DAMAGED, /a second subvolume/);
  await refused((s) => s, ErrorCode.PARENT_INVALID, /incremental stream on subvolume 0303/, [snapshot(Buffer.alloc(16, 3))]);
  const { destination } = await sandbox();
  await receive(destination, [new SendStreamWriter().subvolume().mkfile('a').end().bytes(), snapshot(Buffer.alloc(16, 1))]);
});

hostile('a stream that contradicts itself is refused with the command that does', async () => {
  await refused((s) => s.mkfile('a').mkfile('a'), ErrorCode.STREAM_DAMAGED, /MKFILE "a": creates "a", which exists already/);
  await refused(
    (s) => s.mkfile('lat-\xe9\n').mkfile('lat-\xe9\n'),
    ErrorCode.STREAM_DAMAGED,
    /MKFILE "lat-\\xe9\\x0a": creates "lat-\\xe9\\x0a", which exists already$/,
  );
  await refused((s) => s.mkfile('a').mkfile('a/b'), ErrorCode.RESTORE_UNSAFE, /goes through "a", which is a file/);
  await refused(
    (s) =>
      s
        .mkdir('d')
        .mkfile('d/f')
        .command(Command.RMDIR, [[Attribute.PATH, 'd']]),
    ErrorCode.STREAM_DAMAGED,
    /still holds 1 entries/,
  );
  await refused(
    (s) =>
      s.command(Command.UPDATE_EXTENT, [
        [Attribute.PATH, 'x'],
        [Attribute.FILE_OFFSET, 0n],
        [Attribute.SIZE, 1n],
      ]),
    ErrorCode.STREAM_DAMAGED,
    /--no-data/,
  );
});

hostile.run();
