import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  createBackup,
  createRuntime,
  isTombstone,
  restoreBackup,
  verifyBackup,
  type FileIndex,
  type Format,
  type IndexEntry,
  type Runtime,
} from '@rast-backup/core';
import { silentLogger, temporaryDirectory } from '@rast-backup/core/testing';
import local from '@rast-backup/plugin-local';
import zstd from '@rast-backup/plugin-zstd';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import directory from './index.js';

const DIRECTORIES = 200;
const FILES_PER_DIRECTORY = 1000;

/** Entries the stream does not hold, which an --include restore of something else must never read. */
function bulkEntries(backupId: string): IndexEntry[] {
  const entries: IndexEntry[] = [];
  const entry = (entryPath: string, type: 'file' | 'directory'): IndexEntry => ({
    path: entryPath,
    type,
    size: 0,
    mode: type === 'file' ? 0o644 : 0o755,
    uid: 0,
    gid: 0,
    mtime: '0',
    from: backupId,
  });
  entries.push(entry('bulk', 'directory'));
  for (let d = 0; d < DIRECTORIES; d++) {
    const name = `bulk/d${String(d).padStart(4, '0')}`;
    entries.push(entry(name, 'directory'));
    for (let f = 0; f < FILES_PER_DIRECTORY; f++) entries.push(entry(`${name}/f${String(f).padStart(5, '0')}`, 'file'));
  }
  return entries;
}

/** A runtime whose tar format lists 200,201 more entries in each backup's index, and that counts the index blocks read. */
async function bulkRuntime(): Promise<{ runtime: Runtime; blockReads: () => number }> {
  const repository = await temporaryDirectory();
  const configFile = path.join(await temporaryDirectory(), 'config.toml');
  await writeFile(configFile, `[storage]\nlocal.path = ${JSON.stringify(repository)}\n`);
  const runtime = await createRuntime({ configFile, defaultPresets: [local, directory, zstd], resolveFrom: [], log: silentLogger() });
  const tar = runtime.pipeline.hooks.format.get('tar')!.call()!;
  const bulky: Format = {
    ...tar,
    serialize: (context) => {
      const serialization = tar.serialize(context);
      return {
        ...serialization,
        index: async (): Promise<FileIndex> => {
          const output = await serialization.index();
          if (!('spool' in output)) throw new Error('expected the whole index of a full backup, spooled');
          const entries: IndexEntry[] = [];
          for await (const record of output.spool.records()) if (!isTombstone(record)) entries.push(record);
          return {
            format: 'rast-backup/index',
            version: 1,
            backupId: context.backupId,
            entries: [...entries, ...bulkEntries(context.backupId)],
          };
        },
      };
    },
  };
  runtime.pipeline.hooks.format.for('tar').tap({ name: 'bulk-index', stage: -100 }, () => bulky);
  let reads = 0;
  for (const sink of runtime.sinks) {
    const get = sink.get.bind(sink);
    sink.get = (key) => {
      if (/\/index\.\d+$/.test(key)) reads++;
      return get(key);
    };
    const readInto = sink.readInto?.bind(sink);
    if (readInto)
      sink.readInto = (key, into) => {
        if (/\/index\.\d+$/.test(key)) reads++;
        return readInto(key, into);
      };
  }
  return { runtime, blockReads: () => reads };
}

const reads = suite('partial restore from a backup of many files');

reads('--include of one file reads a few index blocks, not the index', async () => {
  const { runtime, blockReads } = await bulkRuntime();
  const source = await temporaryDirectory();
  await mkdir(path.join(source, 'keep'));
  await writeFile(path.join(source, 'keep', 'one.txt'), 'the needle\n');
  await writeFile(path.join(source, 'keep', 'two.txt'), 'another\n');
  const manifest = await createBackup(runtime, { path: source });
  assert.is(manifest.index.entries, DIRECTORIES * (FILES_PER_DIRECTORY + 1) + 1 + 4);
  const blocks = (await runtime.repository.indexes.blocks(manifest)).length;
  assert.ok(blocks >= 40, `the index has ${blocks} blocks`);

  const before = blockReads();
  const destination = path.join(await temporaryDirectory(), 'restored');
  await restoreBackup(runtime, { backup: manifest.id, destination, include: ['/keep/one.txt'] });
  assert.is(await readFile(path.join(destination, 'keep', 'one.txt'), 'utf8'), 'the needle\n');
  assert.equal(await readdir(path.join(destination, 'keep')), ['one.txt']);
  const read = blockReads() - before;
  assert.ok(read >= 1 && read <= 3, `read ${read} of the index's ${blocks} blocks`);

  // A glob with a literal leading part reads that subtree only.
  const middle = blockReads();
  const globbed = path.join(await temporaryDirectory(), 'restored');
  await restoreBackup(runtime, { backup: manifest.id, destination: globbed, include: ['keep/*.txt'] });
  assert.equal(await readdir(path.join(globbed, 'keep')), ['one.txt', 'two.txt']);
  assert.ok(blockReads() - middle <= 3, `read ${blockReads() - middle} of the index's ${blocks} blocks`);

  // Verify reads it all, and finds the entries the stream lacks.
  const report = await verifyBackup(runtime, { backup: manifest.id }).then(
    () => undefined,
    (error: Error) => error.message,
  );
  assert.match(report ?? '', /the stream lacks 200201 entries its index lists/);
});

reads.run();
