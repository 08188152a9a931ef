import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, open, readdir, readFile, rename, truncate, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, RastError } from '@rast-backup/core';
import { temporaryDirectory, testNeeding } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Attribute, Command } from './SendStreamDecoder.js';
import { BtrfsLab, labAvailable, labNeeds, sh } from './testing/BtrfsLab.js';
import { SendStreamWriter, u32 } from './testing/SendStreamWriter.js';
import { cloneRanges } from './testing/SourceChanges.js';
import { differences, fingerprint } from './testing/TreeFingerprint.js';

const BINARY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'node_modules', '.bin', 'rast-backup');

function cli(args: string[]) {
  const result = spawnSync(BINARY, args, { encoding: 'utf8', env: { ...process.env, RAST_BACKUP_CONFIG: '' } });
  assert.is(result.status, 0, `${args.join(' ')}: ${result.stderr}`);
  assert.not.match(result.stderr, /warning/, `${args.join(' ')}: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

/** A lab (loop-mounted btrfs with a subvolume `data`), a tmpfs to restore onto, and a config with 1 MiB parts. */
async function fixture() {
  const lab = await BtrfsLab.create(600);
  const config = path.join(lab.home, 'config.toml');
  await writeFile(config, `[storage]\nlocal.path = ${JSON.stringify(path.join(lab.home, 'repository'))}\n[backup]\npart_size_mib = 1\n`);
  return { source: lab.source, tmpfs: await lab.destination('tmpfs', 200), config };
}

/** The restored entries `paths` are the source's, fact for fact (see TreeFingerprint; large files: holes kept). */
function assertSame(restored: string, source: string, paths: string[]): void {
  const pick = (tree: Record<string, string>) => Object.fromEntries(paths.map((entry) => [entry, tree[entry] ?? '(absent)']));
  assert.equal(differences(pick(fingerprint(source, { sparse: /./ })), pick(fingerprint(restored, { sparse: /./ }))), []);
}

// ---

const spans = suite('btrfs partial restore from the index spans');

testNeeding(
  spans,
  labAvailable,
  labNeeds,
  'selected files of a chain of three restore exactly onto tmpfs, reading only the parts that hold them',
  async () => {
    const { source, tmpfs, config } = await fixture();
    await mkdir(path.join(source, 'docs', 'deep'), { recursive: true });
    await writeFile(path.join(source, 'docs', 'notes.txt'), 'first version\n');
    await writeFile(path.join(source, 'docs', 'deep', 'kept.txt'), 'never changes\n');
    await writeFile(path.join(source, 'big.bin'), randomBytes(12_000_000));
    await writeFile(path.join(source, 'edited.bin'), randomBytes(3_000_000));
    const sparse = await open(path.join(source, 'sparse'), 'w');
    await sparse.write(Buffer.from('start'), 0, 5, 0);
    await sparse.write(Buffer.from('end'), 0, 3, 32 * 1024 * 1024);
    await sparse.close();
    await writeFile(path.join(source, 'linked'), 'hard');
    await link(path.join(source, 'linked'), path.join(source, 'docs', 'linked-too'));
    await writeFile(path.join(source, 'shrinks'), randomBytes(200_000));
    await writeFile(path.join(source, 'origin'), randomBytes(500_000));
    sh('cp', ['--reflink=always', path.join(source, 'big.bin'), path.join(source, 'docs', 'big-clone')]);
    cli(['create', source, '--json', '--config', config]);

    // In place edits, a rename of the directory, a shrink then a write beyond the new end, a mode change.
    const edited = await open(path.join(source, 'edited.bin'), 'r+');
    await edited.write(Buffer.from('patched in the middle'), 0, 21, 1_500_000);
    await edited.close();
    await rename(path.join(source, 'docs'), path.join(source, 'papers'));
    await writeFile(path.join(source, 'papers', 'notes.txt'), 'second version, longer than the first\n');
    await truncate(path.join(source, 'shrinks'), 1000);
    const shrinks = await open(path.join(source, 'shrinks'), 'r+');
    await shrinks.write(Buffer.from('beyond'), 0, 6, 150_000);
    await shrinks.close();
    await chmod(path.join(source, 'papers', 'deep', 'kept.txt'), 0o640);
    // A clone whose source, in the parent, has since been moved and its name reused (the receiver's CLONE pitfall).
    await rename(path.join(source, 'origin'), path.join(source, 'origin-moved'));
    await writeFile(path.join(source, 'origin'), randomBytes(500_000));
    sh('cp', ['--reflink=always', path.join(source, 'origin-moved'), path.join(source, 'copy-of-origin')]);
    sh('cp', ['--reflink=always', path.join(source, 'edited.bin'), path.join(source, 'edited-clone')]);
    const second = cli(['create', source, '--parent', 'latest', '--json', '--config', config]);

    await writeFile(path.join(source, 'papers', 'new.txt'), 'new in the third');
    const sparseAgain = await open(path.join(source, 'sparse'), 'r+');
    await sparseAgain.write(Buffer.from('middle'), 0, 6, 16 * 1024 * 1024);
    await sparseAgain.close();
    await utimes(path.join(source, 'edited.bin'), 1_000_000, 1_000_000);
    const third = cli(['create', source, '--parent', 'latest', '--json', '--config', config]);
    assert.is(third.parent, second.id);

    const files = cli(['ls', third.id, '-R', '--json', '--config', config]).entries;
    const clones = (name: string) =>
      files.find((entry: any) => entry.path === name).ranges.flatMap((range: any) => range.clones ?? []).length;
    assert.ok(clones('papers/big-clone') > 0 && clones('copy-of-origin') > 0 && clones('edited-clone') > 0, 'the streams hold clones');
    const selected = [
      'papers/notes.txt',
      'papers/deep/kept.txt',
      'papers/new.txt',
      'edited.bin',
      'sparse',
      'shrinks',
      'origin',
      'copy-of-origin',
      'edited-clone',
    ];
    const destination = path.join(tmpfs, 'partial');
    const restored = cli([
      'restore',
      third.id,
      destination,
      '--include',
      'papers/*.txt',
      'papers/deep',
      'papers/linked-too',
      'edited.bin',
      'sparse',
      'shrinks',
      '*origin',
      'edited-clone',
      '--json',
      '--config',
      config,
    ]);
    assertSame(destination, source, [...selected, 'papers']);
    // The hard link's other name was not selected: the selected one holds the data alone.
    assert.is(await readFile(path.join(destination, 'papers', 'linked-too'), 'utf8'), 'hard');
    assert.ok(restored.read < 8_000_000, `the 12 MB big.bin is not read (${restored.read} of ${restored.chainSize} bytes)`);
    assert.equal(
      (await readdir(destination)).sort(),
      ['copy-of-origin', 'edited-clone', 'edited.bin', 'origin', 'papers', 'shrinks', 'sparse'],
      'no scratch file is left',
    );

    const cloned = cli(['restore', third.id, path.join(tmpfs, 'cloned'), '--include', 'papers/big-clone', '--json', '--config', config]);
    assertSame(path.join(tmpfs, 'cloned'), source, ['papers/big-clone']);
    assert.ok(cloned.read < 16_000_000, `a clone reads its source's spans (${cloned.read} of ${cloned.chainSize} bytes)`);

    const small = cli(['restore', third.id, path.join(tmpfs, 'one'), '--include', '/papers/deep/kept.txt', '--json', '--config', config]);
    assert.is(await readFile(path.join(tmpfs, 'one', 'papers', 'deep', 'kept.txt'), 'utf8'), 'never changes\n');
    assert.ok(small.read <= 2 * 1024 * 1024, `one small file reads at most two 1 MiB parts (${small.read} of ${small.chainSize} bytes)`);
  },
);

testNeeding(
  spans,
  labAvailable,
  labNeeds,
  'a file that clones its own extent 63 times (xfstests btrfs/130) is backed up in time and restores byte-identical, partly and whole',
  async () => {
    const { source, tmpfs, config } = await fixture();
    const extent = 128 * 1024;
    const file = path.join(source, 'self-cloned');
    await writeFile(file, randomBytes(extent));
    cloneRanges(
      file,
      file,
      Array.from({ length: 63 }, (_, copy) => [0, extent, (copy + 1) * extent]),
    );
    // Each clone's source held every earlier clone: the index doubled with each one (2^63 with 63).
    const deadline = 60_000;
    const create = spawnSync(BINARY, ['create', source, '--json', '--config', config], {
      encoding: 'utf8',
      timeout: deadline,
      env: { ...process.env, RAST_BACKUP_CONFIG: '' },
    });
    assert.ok(create.error === undefined, `create did not finish within ${deadline / 1000} s`);
    assert.is(create.status, 0, create.stderr);
    const created = JSON.parse(create.stdout);
    const entry = cli(['ls', created.id, 'self-cloned', '--json', '--config', config]).entries[0];
    assert.ok(JSON.stringify(entry).length < 20_000, `the index entry stays small (${JSON.stringify(entry).length} bytes)`);
    const expected = await readFile(file);
    cli(['restore', created.id, path.join(tmpfs, 'partial'), '--include', 'self-cloned', '--json', '--config', config]);
    assert.ok((await readFile(path.join(tmpfs, 'partial', 'self-cloned'))).equals(expected), 'partial restore: byte-identical');
    assert.equal(await readdir(path.join(tmpfs, 'partial')), ['self-cloned'], 'no scratch file is left');
    cli(['restore', created.id, path.join(tmpfs, 'whole'), '--json', '--config', config]);
    assert.ok((await readFile(path.join(tmpfs, 'whole', 'self-cloned'))).equals(expected), 'user-space receiver: byte-identical');
  },
);

spans.run();

// ---

const damaged = suite('btrfs partial restore of a damaged stream');

damaged('a span with a short attribute fails as a damaged stream naming the backup and byte, not as a RangeError', async () => {
  const home = await temporaryDirectory('rast-spans-');
  const stream = path.join(home, 'stream');
  // UNENCODED_LEN in 4 bytes, not 8: the indexer does not read it, the span restorer does.
  await writeFile(
    stream,
    new SendStreamWriter()
      .subvolume()
      .mkfile('a')
      .write('a', 0, 'data')
      .command(Command.ENCODED_WRITE, [
        [Attribute.PATH, 'a'],
        [Attribute.FILE_OFFSET, 4n],
        [Attribute.UNENCODED_FILE_LEN, 4n],
        [Attribute.UNENCODED_LEN, u32(4)],
        [Attribute.UNENCODED_OFFSET, 0n],
        [Attribute.COMPRESSION, u32(0)],
        [Attribute.ENCRYPTION, u32(0)],
        [Attribute.DATA, 'more'],
      ])
      .end()
      .bytes(),
  );
  await mkdir(path.join(home, 'destination'));
  const error = await BtrfsLab.restoreSpans([stream], path.join(home, 'destination'), ['a']).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  assert.instance(error, RastError, String(error));
  assert.is((error as RastError).code, ErrorCode.STREAM_DAMAGED);
  assert.match(
    (error as Error).message,
    /^backup s0: send stream at byte \d+, ENCODED_WRITE for a: attribute UNENCODED_LEN \(28\) is 4 bytes, not 8$/,
  );
});

damaged.run();
