import {
  ArrayRecords,
  comparePaths,
  ErrorCode,
  IndexView,
  RastError,
  type FileIndex,
  type IndexEntry,
  type IndexRecord,
  type IndexRun,
} from '@rast-backup/core';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Attribute, Command, type SendCommand } from './SendStreamDecoder.js';
import { SendStreamIndexer } from './SendStreamIndexer.js';
import { loadedIndex } from './testing/LoadedIndex.js';
import { u64 } from './testing/SendStreamWriter.js';

const latin1 = Buffer.concat([Buffer.from('dir/lat-'), Buffer.from([0xe9, 0xff])]);
const command = (type: number, attributes: Array<[number, Buffer]>, offset = 0): SendCommand => ({
  type,
  offset,
  size: 100,
  attributes: new Map(attributes),
  version: 1,
});
const entry = (path: string, type: IndexEntry['type']): IndexEntry => ({
  path,
  type,
  size: 0,
  mode: 0o644,
  uid: 0,
  gid: 0,
  mtime: '0',
  from: 'b0',
});

/** The index an indexer gives, whole. */
const indexOf = async (indexer: SendStreamIndexer, parent?: FileIndex) =>
  loadedIndex(await indexer.index(), parent && IndexView.of(parent));

const names = suite('send stream indexer: names that are not UTF-8');

names('paths are index paths of the exact bytes, and spans name them so', async () => {
  const indexer = new SendStreamIndexer('b1');
  indexer.apply(command(Command.SUBVOL, [[Attribute.UUID, Buffer.alloc(16, 1)]]));
  indexer.apply(command(Command.MKDIR, [[Attribute.PATH, Buffer.from('dir')]]));
  indexer.apply(command(Command.MKFILE, [[Attribute.PATH, latin1]]));
  indexer.apply(
    command(
      Command.WRITE,
      [
        [Attribute.PATH, latin1],
        [Attribute.FILE_OFFSET, u64(0)],
        [Attribute.DATA, Buffer.from('abc')],
      ],
      500,
    ),
  );
  indexer.apply(
    command(Command.SYMLINK, [
      [Attribute.PATH, Buffer.from('link')],
      [Attribute.PATH_LINK, latin1],
    ]),
  );
  const index = await indexOf(indexer);
  const file = index.entries.find((candidate) => candidate.type === 'file')!;
  assert.is(file.path, 'dir/lat-\udce9\udcff');
  assert.is(file.size, 3);
  assert.equal(
    file.ranges?.map((range) => range.path),
    ['dir/lat-\udce9\udcff'],
  );
  assert.is(index.entries.find((candidate) => candidate.type === 'symlink')!.target, 'dir/lat-\udce9\udcff');
});

names('a parent index made before names were kept as bytes (U+FFFD) is still followed', async () => {
  const parent: FileIndex = {
    format: 'rast-backup/index',
    version: 1,
    backupId: 'b0',
    entries: [entry('.', 'directory'), entry('dir', 'directory'), entry('dir/lat-\ufffd\ufffd', 'file')],
  };
  const indexer = new SendStreamIndexer('b1', IndexView.of(parent));
  indexer.apply(
    command(Command.CHMOD, [
      [Attribute.PATH, latin1],
      [Attribute.MODE, u64(0o600)],
    ]),
  );
  const file = (await indexOf(indexer, parent)).entries.find((candidate) => candidate.type === 'file')!;
  assert.equal([file.path, file.mode], ['dir/lat-\udce9\udcff', 0o600]);
  const unlinking = new SendStreamIndexer('b1', IndexView.of(parent));
  unlinking.apply(command(Command.UNLINK, [[Attribute.PATH, latin1]]));
  assert.equal(
    (await indexOf(unlinking, parent)).entries.map((candidate) => candidate.path),
    ['.', 'dir'],
  );
});

names.run();

// ---

const damaged = suite('send stream indexer: commands that lack what they need');

damaged('a missing or short attribute is a one-line STREAM_DAMAGED error naming the command and the attribute, never a 0', () => {
  const refused = (indexer: SendStreamIndexer, bad: SendCommand, pattern: RegExp) => {
    const error = (() => {
      try {
        indexer.apply(bad);
      } catch (caught) {
        return caught;
      }
    })();
    assert.instance(error, RastError, 'refused');
    assert.is((error as RastError).code, ErrorCode.STREAM_DAMAGED);
    assert.match((error as Error).message, pattern);
    assert.not.match((error as Error).message, /\n/);
  };
  const full = () => {
    const indexer = new SendStreamIndexer('b1');
    indexer.apply(command(Command.SUBVOL, [[Attribute.UUID, Buffer.alloc(16, 1)]]));
    indexer.apply(command(Command.MKFILE, [[Attribute.PATH, Buffer.from('f')]]));
    return indexer;
  };
  refused(
    full(),
    command(
      Command.WRITE,
      [
        [Attribute.PATH, Buffer.from('f')],
        [Attribute.DATA, Buffer.from('x')],
      ],
      700,
    ),
    /^backup b1: send stream at byte 700, WRITE: the command lacks attribute FILE_OFFSET \(18\)$/,
  );
  refused(
    full(),
    command(Command.MKNOD, [
      [Attribute.PATH, Buffer.from('dev')],
      [Attribute.MODE, u64(0o020644)],
    ]),
    /MKNOD: the command lacks attribute RDEV \(8\)/,
  );
  refused(
    full(),
    command(Command.UTIMES, [
      [Attribute.PATH, Buffer.from('f')],
      [Attribute.MTIME, u64(1)],
    ]),
    /UTIMES: attribute MTIME \(10\) is 8 bytes, not 12/,
  );
  refused(
    full(),
    command(Command.CLONE, [
      [Attribute.PATH, Buffer.from('f')],
      [Attribute.FILE_OFFSET, u64(0)],
      [Attribute.CLONE_LEN, u64(10)],
      [Attribute.CLONE_OFFSET, u64(0)],
      [Attribute.CLONE_PATH, Buffer.from('f')],
    ]),
    /CLONE: the command lacks attribute CLONE_UUID \(20\)/,
  );
  const incremental = new SendStreamIndexer(
    'b2',
    IndexView.of({ format: 'rast-backup/index', version: 1, backupId: 'b1', entries: [entry('.', 'directory')] }),
  );
  incremental.apply(
    command(Command.SNAPSHOT, [
      [Attribute.UUID, Buffer.alloc(16, 2)],
      [Attribute.CLONE_UUID, Buffer.alloc(16, 1)],
    ]),
  );
  refused(
    incremental,
    command(Command.CHOWN, [
      [Attribute.PATH, Buffer.from('')],
      [Attribute.UID, u64(5)],
    ]),
    /CHOWN: the command lacks attribute GID \(7\)/,
  );
});

damaged.run();

const parentSpans = suite('send stream indexer: the parent index');

parentSpans(
  'its spans are left as they were while this stream writes to their files, and clones from the parent read them so',
  async () => {
    const spans = [{ from: 'b0', start: 17, end: 200, path: 'f' }];
    const parent: FileIndex = {
      format: 'rast-backup/index',
      version: 1,
      backupId: 'b0',
      entries: [entry('.', 'directory'), { ...entry('f', 'file'), size: 10, ranges: spans }],
    };
    const before = structuredClone(parent);
    const indexer = new SendStreamIndexer('b1', IndexView.of(parent));
    const parentUuid = Buffer.alloc(16, 1);
    indexer.apply(
      command(Command.SNAPSHOT, [
        [Attribute.UUID, Buffer.alloc(16, 2)],
        [Attribute.CLONE_UUID, parentUuid],
      ]),
    );
    indexer.apply(
      command(
        Command.WRITE,
        [
          [Attribute.PATH, Buffer.from('f')],
          [Attribute.FILE_OFFSET, u64(0)],
          [Attribute.DATA, Buffer.from('new')],
        ],
        100,
      ),
    );
    indexer.apply(
      command(
        Command.WRITE,
        [
          [Attribute.PATH, Buffer.from('f')],
          [Attribute.FILE_OFFSET, u64(20)],
          [Attribute.DATA, Buffer.from('more')],
        ],
        200,
      ),
    );
    indexer.apply(command(Command.MKFILE, [[Attribute.PATH, Buffer.from('g')]], 300));
    indexer.apply(
      command(
        Command.CLONE,
        [
          [Attribute.PATH, Buffer.from('g')],
          [Attribute.FILE_OFFSET, u64(0)],
          [Attribute.CLONE_LEN, u64(10)],
          [Attribute.CLONE_UUID, parentUuid],
          [Attribute.CLONE_PATH, Buffer.from('f')],
          [Attribute.CLONE_OFFSET, u64(0)],
        ],
        400,
      ),
    );
    indexer.apply(
      command(
        Command.WRITE,
        [
          [Attribute.PATH, Buffer.from('f')],
          [Attribute.FILE_OFFSET, u64(30)],
          [Attribute.DATA, Buffer.from('last')],
        ],
        500,
      ),
    );
    const entries = (await indexOf(indexer, parent)).entries;
    assert.equal(parent, before, 'the parent index is unchanged');
    assert.equal(entries.find((candidate) => candidate.path === 'f')!.ranges, [
      spans[0],
      { from: 'b1', start: 100, end: 300, path: 'f' },
      { from: 'b1', start: 500, end: 600, path: 'f' },
    ]);
    assert.equal(entries.find((candidate) => candidate.path === 'g')!.ranges![0]!.clones, [{ at: 400, source: before.entries[1]!.ranges }]);
  },
);

parentSpans('an xattr removed by this stream stays in the parent index', async () => {
  const parent: FileIndex = {
    format: 'rast-backup/index',
    version: 1,
    backupId: 'b0',
    entries: [entry('.', 'directory'), { ...entry('f', 'file'), xattrs: { 'user.a': '', 'user.b': 'eA==' } }],
  };
  const before = structuredClone(parent);
  const indexer = new SendStreamIndexer('b1', IndexView.of(parent));
  indexer.apply(
    command(Command.SNAPSHOT, [
      [Attribute.UUID, Buffer.alloc(16, 2)],
      [Attribute.CLONE_UUID, Buffer.alloc(16, 1)],
    ]),
  );
  indexer.apply(
    command(
      Command.REMOVE_XATTR,
      [
        [Attribute.PATH, Buffer.from('f')],
        [Attribute.XATTR_NAME, Buffer.from('user.a')],
      ],
      100,
    ),
  );
  assert.equal((await indexOf(indexer, parent)).entries.find((candidate) => candidate.path === 'f')!.xattrs, { 'user.b': 'eA==' });
  assert.equal(parent, before, 'the parent index is unchanged');
});

parentSpans.run();

// ---

/** A parent index of `directories` × `files` entries stored as a run of blocks of 100 records, counting the blocks read. */
function countedParent(directories: number, files: number) {
  const entries: IndexEntry[] = [entry('.', 'directory')];
  for (let d = 0; d < directories; d++) {
    entries.push(entry(`d${d}`, 'directory'));
    for (let f = 0; f < files; f++)
      entries.push({ ...entry(`d${d}/f${f}`, 'file'), size: 5, ranges: [{ from: 'b0', start: 0, end: 9, path: `d${d}/f${f}` }] });
  }
  entries.sort((a, b) => comparePaths(a.path, b.path));
  const blocks: IndexEntry[][] = [];
  for (let at = 0; at < entries.length; at += 100) blocks.push(entries.slice(at, at + 100));
  const reads = new Set<number>();
  const run: IndexRun = {
    backupId: 'b0',
    firsts: blocks.map((block) => block[0]!.path),
    records: entries.length,
    readBlock: async (block) => {
      reads.add(block);
      return new ArrayRecords(blocks[block]!);
    },
  };
  return { view: new IndexView('b0', [run], entries.length), reads, blocks: blocks.length };
}

async function changesOf(indexer: SendStreamIndexer): Promise<{ records: IndexRecord[]; entries: number }> {
  const output = await indexer.index();
  assert.ok('changes' in output, 'an incremental gives changes');
  const records: IndexRecord[] = [];
  for await (const record of Array.isArray(output.changes) ? output.changes : output.changes.records()) records.push(record);
  return { records, entries: output.entries };
}

const lookups = suite('send stream indexer: an incremental reads what its stream touches');

lookups('a write to one file of 10,000 reads the blocks of its path in the parent index and gives one change', async () => {
  const parent = countedParent(100, 100);
  // The parent snapshot says the file has one name: no need to look for others.
  const indexer = new SendStreamIndexer('b1', parent.view, { parentLinks: async () => 1 });
  indexer.apply(
    command(
      Command.WRITE,
      [
        [Attribute.PATH, Buffer.from('d42/f7')],
        [Attribute.FILE_OFFSET, u64(5)],
        [Attribute.DATA, Buffer.from('abc')],
      ],
      300,
    ),
  );
  const { records, entries } = await changesOf(indexer);
  assert.is(entries, parent.view.entries);
  assert.equal(records, [
    {
      ...entry('d42/f7', 'file'),
      size: 8,
      from: 'b1',
      ranges: [
        { from: 'b0', start: 0, end: 9, path: 'd42/f7' },
        { from: 'b1', start: 300, end: 400, path: 'd42/f7' },
      ],
    },
  ]);
  // The blocks of ., d42 and d42/f7.
  assert.ok(parent.reads.size <= 3, `${parent.reads.size} of ${parent.blocks} blocks read`);
});

lookups('a renamed directory: a tombstone for each old path, its subtree under the new one, the same number of entries', async () => {
  const parent = countedParent(3, 2);
  const indexer = new SendStreamIndexer('b1', parent.view, { parentLinks: async () => 1 });
  indexer.apply(
    command(Command.RENAME, [
      [Attribute.PATH, Buffer.from('d1')],
      [Attribute.PATH_TO, Buffer.from('d0/moved')],
    ]),
  );
  indexer.apply(command(Command.UNLINK, [[Attribute.PATH, Buffer.from('d0/moved/f0')]]));
  const { records, entries } = await changesOf(indexer);
  assert.equal(
    records.map((record) => ('deleted' in record ? `-${record.path}` : `${record.path} ${record.from}`)),
    ['d0/moved b0', 'd0/moved/f1 b0', '-d1', '-d1/f0', '-d1/f1'],
  );
  assert.is(entries, parent.view.entries - 1);
});

lookups.run();

// ---

const memory = suite('send stream indexer: memory');

memory("the changes kept for the parent's files do not keep the stream's chunks their commands were read from", async () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const parent: FileIndex = {
    format: 'rast-backup/index',
    version: 1,
    backupId: 'b0',
    entries: [entry('.', 'directory'), entry('dir', 'directory'), entry('dir/f', 'file')],
  };
  const indexer = new SendStreamIndexer('b1', IndexView.of(parent));
  // Each command's attributes are views of a chunk of 1 MiB, as the decoder gives them.
  const chunks = [0, 1].map(() => {
    const chunk = Buffer.alloc(1024 * 1024);
    chunk.write('dir/f');
    return chunk;
  });
  const collected = chunks.map((chunk) => new WeakRef(chunk.buffer));
  indexer.apply(
    command(Command.CHMOD, [
      [Attribute.PATH, chunks[0]!.subarray(0, 5)],
      [Attribute.MODE, u64(0o600)],
    ]),
  );
  indexer.apply(
    command(Command.CHOWN, [
      [Attribute.PATH, chunks[1]!.subarray(0, 5)],
      [Attribute.UID, u64(7)],
      [Attribute.GID, u64(8)],
    ]),
  );
  chunks.length = 0;
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  assert.equal(
    collected.map((chunk) => chunk.deref() === undefined),
    [true, true],
  );
  const file = (await indexOf(indexer, parent)).entries.find((candidate) => candidate.path === 'dir/f')!;
  assert.equal([file.mode, file.uid, file.gid], [0o600, 7, 8]);
});

memory.run();
