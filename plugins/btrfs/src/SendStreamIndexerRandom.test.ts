import { createReadStream, linkSync, lstatSync, mkdirSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import {
  comparePaths,
  IndexView,
  MemoryRun,
  pathBytes,
  type FileIndex,
  type IndexEntry,
  type IndexRecord,
  type StreamRange,
} from '@rast-backup/core';
import { testNeeding } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Attribute, Command, SendStreamDecoder } from './SendStreamDecoder.js';
import { SendStreamIndexer, type IndexerOptions } from './SendStreamIndexer.js';
import { BtrfsLab, labAvailable, labNeeds, sh } from './testing/BtrfsLab.js';
import { loadedIndex } from './testing/LoadedIndex.js';
import { entries, generator, randomChanges } from './testing/RandomChanges.js';
import { WholeTreeIndexer } from './testing/WholeTreeIndexer.js';

type Random = ReturnType<typeof generator>;

/** A tree of directories three deep, files in each, some with several names. */
function startingTree(root: string, random: Random): void {
  for (let a = 0; a < 4; a++) {
    for (let b = 0; b < 3; b++) {
      const directory = path.join(root, `d${a}`, `e${b}`);
      mkdirSync(directory, { recursive: true });
      for (let c = 0; c < 5; c++) writeFileSync(path.join(directory, `f${c}`), random.bytes(random.pick([0, 100, 5000, 70_000])!));
    }
  }
  for (let link = 0; link < 6; link++) {
    const { files, directories } = entries(root);
    try {
      linkSync(random.pick(files)!, path.join(random.pick(directories)!, `l${link}`));
    } catch {
      // The name is taken: another link will do.
    }
  }
}

/** Changes that move names about: directory renames and swaps (orphan names in the stream), links and unlinks, deletions, clones from the parent. */
function nameChanges(random: Random, operations: number) {
  return (root: string) => {
    let counter = 0;
    for (let done = 0; done < operations; done++) {
      const { files, directories, all } = entries(root);
      const directory = random.pick(directories.slice(1));
      const other = random.pick(directories);
      const file = random.pick(files);
      try {
        switch (random.below(8)) {
          case 0:
            if (directory && other) renameSync(directory, path.join(other, `m${counter++}`));
            break;
          case 1: {
            // A swap of two names: the stream goes through an orphan name.
            const [a, b] = [random.pick(all), random.pick(all)];
            if (a && b && a !== b) {
              const away = path.join(root, `swap${counter++}`);
              renameSync(a, away);
              renameSync(b, a);
              renameSync(away, b);
            }
            break;
          }
          case 2:
            if (file && other) linkSync(file, path.join(other, `h${counter++}`));
            break;
          case 3:
            if (file && lstatSync(file).nlink > 1) unlinkSync(file);
            break;
          case 4:
            if (file) unlinkSync(file);
            break;
          case 5:
            if (directory) rmSync(directory, { recursive: true });
            break;
          case 6:
            if (file && other) sh('cp', ['--reflink=always', file, path.join(other, `c${counter++}`)]);
            break;
          case 7:
            if (file) writeFileSync(file, random.bytes(100 + random.below(9000)), { flag: 'a' });
            break;
        }
      } catch {
        // Not applicable now (a directory into itself): the next one will do.
      }
    }
  };
}

async function decode(stream: string, apply: (command: Parameters<SendStreamIndexer['apply']>[0]) => void): Promise<void> {
  const decoder = new SendStreamDecoder(stream, (command) => apply(command));
  for await (const chunk of createReadStream(stream)) decoder.push(chunk as Buffer);
  decoder.finish();
}

/**
 * An entry as text, its fields in sorted order, clone sources written out in full (a source that is one of the lists being written, as
 * a file cloning from itself, is written as its depth): two indexes may share equal lists or not.
 */
function canonical(entry: IndexEntry): string {
  const open: StreamRange[][] = [];
  const spans = (ranges: StreamRange[]): unknown => {
    const depth = open.indexOf(ranges);
    if (depth >= 0) return depth;
    open.push(ranges);
    const written = ranges.map((range) =>
      range.clones ? { ...range, clones: range.clones.map((clone) => ({ at: clone.at, source: spans(clone.source) })) } : range,
    );
    open.pop();
    return written;
  };
  const written: Record<string, unknown> = entry.ranges ? { ...entry, ranges: spans(entry.ranges) } : { ...entry };
  // Fields in one order: an index read back from its lines puts `path` first, one built in memory may not.
  return JSON.stringify(
    Object.fromEntries(
      Object.keys(written)
        .sort()
        .map((key) => [key, written[key]]),
    ),
  );
}

const lines = (index: FileIndex) => index.entries.map(canonical);

// ---

const randomized = suite('send stream indexer, randomized chains (RAST_INDEXER_SEED, RAST_INDEXER_ROUNDS)');

testNeeding(
  randomized,
  labAvailable,
  labNeeds,
  "an incremental's index built from the parent's index by lookups is the one the whole tree gives",
  async () => {
    const seed = Number(process.env.RAST_INDEXER_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const rounds = Number(process.env.RAST_INDEXER_ROUNDS ?? 6);
    process.stdout.write(`\n  randomized indexer chains: RAST_INDEXER_SEED=${seed} RAST_INDEXER_ROUNDS=${rounds}\n`);
    const random = generator(seed);
    const lab = await BtrfsLab.create();
    startingTree(lab.source, random);
    const snapshots = [lab.snapshot()];
    for (let round = 1; round < rounds; round++) {
      nameChanges(random, 12)(lab.source);
      randomChanges(random, 6)(lab.source, lab);
      snapshots.push(lab.snapshot());
    }
    for (const flags of [
      ['--proto', '1'],
      ['--proto', '2'],
    ]) {
      let model: FileIndex | undefined;
      let view: IndexView | undefined;
      for (const [position, snapshot] of snapshots.entries()) {
        const id = `b${position}`;
        const parentSnapshot = snapshots[position - 1];
        const stream = lab.send(snapshot, parentSnapshot, flags);
        const wholeTree = new WholeTreeIndexer(id, model);
        const parentLinks: IndexerOptions['parentLinks'] = async (at) =>
          (await lstat(Buffer.concat([Buffer.from(`${parentSnapshot}/`), pathBytes(at)]))).nlink;
        const withLinks = new SendStreamIndexer(id, view, { parentLinks });
        const withScan = new SendStreamIndexer(id, view);
        await decode(stream, (command) => {
          wholeTree.apply(command);
          withLinks.apply(command);
          withScan.apply(command);
        });
        const expected = wholeTree.index();
        const label = `${flags.join(' ')} stream ${position} (seed ${seed})`;
        const output = await withLinks.index();
        const changes: IndexRecord[] = [];
        if ('changes' in output)
          for await (const record of Array.isArray(output.changes) ? output.changes : output.changes.records()) changes.push(record);
        const layered = 'changes' in output ? { ...output, changes } : output;
        assert.equal(lines(await loadedIndex(layered, view)), lines(expected), `${label}, link counts from the parent snapshot`);
        assert.equal(lines(await loadedIndex(await withScan.index(), view)), lines(expected), `${label}, hard links found by a scan`);
        // The next stream reads this one's index as its layers (changes over the parent's), as create stores it.
        view =
          'changes' in layered && view
            ? new IndexView(id, [new MemoryRun(id, changes), ...view.layers], layered.entries)
            : IndexView.of(expected);
        model = expected;
      }
    }
  },
);

testNeeding(
  randomized,
  labAvailable,
  labNeeds,
  "a full stream's index, its tree held compactly, is the one the whole tree gives, after names moved about (orphans, clones)",
  async () => {
    const seed = Number(process.env.RAST_INDEXER_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const rounds = Number(process.env.RAST_INDEXER_ROUNDS ?? 6);
    process.stdout.write(`\n  randomized full streams: RAST_INDEXER_SEED=${seed} RAST_INDEXER_ROUNDS=${rounds}\n`);
    const random = generator(seed);
    const lab = await BtrfsLab.create();
    startingTree(lab.source, random);
    const met = { clones: 0, orphanWrites: 0 };
    for (let round = 0; round < rounds; round++) {
      // Directories moved under newer ones are sent before their parent exists: under orphan names, files and all.
      nameChanges(random, 16)(lab.source);
      randomChanges(random, 4)(lab.source, lab);
      // And at least one of each: an older directory with files moved into a new one, and a clone.
      const { directories } = entries(lab.source);
      const newer = path.join(lab.source, `n${round}`);
      mkdirSync(newer);
      const older = directories.slice(1).find((directory) => entries(directory).files.length > 0);
      if (older) renameSync(older, path.join(newer, 'moved'));
      // The largest file: its extents are not inline, so the stream clones them.
      const [file] = entries(lab.source).files.sort((a, b) => lstatSync(b).size - lstatSync(a).size);
      if (file) sh('cp', ['--reflink=always', file, path.join(newer, 'clone')]);
      const snapshot = lab.snapshot();
      for (const flags of [
        ['--proto', '1'],
        ['--proto', '2'],
      ]) {
        const id = `f${round}`;
        const wholeTree = new WholeTreeIndexer(id);
        const indexer = new SendStreamIndexer(id);
        // The same tree with pages of 8 nodes and a budget of 2 KiB: most of it read back from the file.
        const paged = new SendStreamIndexer(id, undefined, { tree: { memory: 2048, pageShift: 3 } });
        // What verify compares with the stored index: the same entries walked from the tree, not spooled.
        const walked = new SendStreamIndexer(id, undefined, { tree: { memory: 2048, pageShift: 3 } });
        await decode(lab.send(snapshot, undefined, flags), (command) => {
          if (command.type === Command.CLONE) met.clones++;
          const data = command.type === Command.WRITE || command.type === Command.ENCODED_WRITE;
          if (data && /(^|\/)o\d+-\d+-\d+\//.test(command.attributes.get(Attribute.PATH)!.toString())) met.orphanWrites++;
          wholeTree.apply(command);
          indexer.apply(command);
          paged.apply(command);
          walked.apply(command);
        });
        const label = `${flags.join(' ')} full stream of round ${round} (seed ${seed})`;
        assert.equal(lines(await loadedIndex(await indexer.index())), lines(wholeTree.index()), label);
        assert.equal(lines(await loadedIndex(await paged.index())), lines(wholeTree.index()), `${label}, paged`);
        const sorted = [...wholeTree.index().entries].sort((a, b) => comparePaths(a.path, b.path));
        assert.equal([...walked.fullIndex()].map(canonical), sorted.map(canonical), `${label}, walked in index order`);
      }
    }
    assert.ok(met.clones > 0, `the streams hold no clone (seed ${seed})`);
    assert.ok(met.orphanWrites > 0, `the streams write no file under an orphan directory (seed ${seed})`);
  },
);

randomized.run();
