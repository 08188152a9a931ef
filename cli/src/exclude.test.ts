import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFile, mkdir, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isRoot, testNeeding } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { btrfsAvailable, btrfsNeeds, CliFixture } from './testing/CliFixture.js';

function sh(command: string, args: string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

/** Every path below `root` with its kind and, for a file, its content's hash: two trees compare equal when these do. */
async function treeOf(root: string, relative = '.'): Promise<string[]> {
  const lines: string[] = [];
  for (const entry of (await readdir(path.join(root, relative), { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    const child = relative === '.' ? entry.name : `${relative}/${entry.name}`;
    if (entry.isDirectory()) lines.push(`${child}/`, ...(await treeOf(root, child)));
    else
      lines.push(
        `${child} ${createHash('sha256')
          .update(await readFile(path.join(root, child)))
          .digest('hex')
          .slice(0, 16)}`,
      );
  }
  return lines;
}

/** Every file of a directory with its content's hash (empty when it does not exist): to show that nothing was written. */
async function snapshotOf(directory: string): Promise<string[]> {
  return stat(directory).then(
    () => treeOf(directory),
    () => [],
  );
}

/** The files of a tree, written below `root`. */
async function plant(root: string, files: Record<string, string>): Promise<void> {
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await writeFile(path.join(root, name), content);
  }
}

const TREE = {
  'keep.txt': 'kept\n',
  'app/main.c': 'int main;\n',
  'app/main.o': 'object code\n',
  'app/deep/x.o': 'more object code\n',
  'cache/blob': 'cached\n',
  'cache/sub/blob': 'cached too\n',
  'logs/today.log': 'log\n',
  'notes/cache': 'a file named cache, not at the top\n',
};

/** What TREE restores to with `cache`, `**\/*.o` and `logs` excluded. */
const KEPT = ['app/', 'app/deep/', 'app/main.c', 'keep.txt', 'notes/', 'notes/cache'];

const names = (tree: string[]) => tree.map((line) => line.split(' ')[0]!);

// ---

const exclude = suite('create --exclude, --exclude-file and [backup] exclude');

for (const kind of ['directory', 'btrfs'] as const) {
  testNeeding(
    exclude,
    kind === 'directory' || btrfsAvailable,
    btrfsNeeds,
    `${kind}: the patterns of the config, --exclude and --exclude-file leave paths out; info shows them; an incremental after them restores exactly`,
    async () => {
      const fixture = await CliFixture.create('exclude = ["cache"]\n');
      const source = kind === 'directory' ? await fixture.directory('source', {}) : await fixture.subvolume({});
      await plant(source, TREE);
      const patterns = path.join(fixture.home, 'patterns');
      await writeFile(patterns, '# build output\n\n  **/*.o  \nnever/there\n');

      const created = fixture.cli(['create', source, '--exclude', 'logs', '--exclude-file', patterns, '--json']);
      assert.is(created.status, 0, created.stderr);
      const full = JSON.parse(created.stdout).id as string;
      assert.match(created.stderr, /warning: exclude pattern "never\/there" matched nothing in /);
      assert.not.match(created.stderr, /"logs" matched nothing/);

      const info = fixture.json(['info', full, '--files']);
      assert.equal(info.exclude, ['cache', 'logs', '**/*.o', 'never/there']);
      assert.equal(info.manifest.exclude, info.exclude);
      const indexed = (info.files as Array<{ path: string }>).map((file) => file.path).filter((file) => file !== '.');
      assert.equal(indexed.sort(), KEPT.map((name) => name.replace(/\/$/, '')).sort());
      assert.match(fixture.cli(['info', full]).stdout, /^excluded: +"cache", "logs", "\*\*\/\*\.o", "never\/there"$/m);
      // The source keeps what was left out of the backup (on btrfs, only the snapshot was pruned).
      for (const [name, content] of Object.entries(TREE)) assert.is(await readFile(path.join(source, name), 'utf8'), content, name);

      // Changes inside and outside what is excluded, and one pattern fewer (logs come back).
      await appendFile(path.join(source, 'keep.txt'), 'changed\n');
      await appendFile(path.join(source, 'cache/blob'), 'changed, excluded\n');
      await writeFile(path.join(source, 'app/new.o'), 'new object code\n');
      await writeFile(path.join(source, 'app/new.c'), 'new source\n');
      await rm(path.join(source, 'app/deep/x.o'));
      const incremental = fixture.json(['create', source, '--parent', 'latest', '--exclude-file', patterns]).id as string;
      assert.equal(fixture.json(['info', incremental]).exclude, ['cache', '**/*.o', 'never/there']);

      const expected = [...KEPT, 'app/new.c', 'logs/', 'logs/today.log'].sort();
      const destinations = [path.join(fixture.home, 'restored')];
      // On btrfs, also restored with `btrfs receive` (a destination on btrfs), besides the user-space receiver.
      if (kind === 'btrfs') destinations.push(path.join(path.dirname(source), 'restored'));
      for (const destination of destinations) {
        const restored = fixture.cli(['restore', incremental, destination]);
        assert.is(restored.status, 0, restored.stderr);
        const tree = await treeOf(destination);
        assert.equal(names(tree).sort(), expected);
        const sourceTree = new Map((await treeOf(source)).map((line) => [line.split(' ')[0], line]));
        for (const line of tree) assert.is(line, sourceTree.get(line.split(' ')[0]!), `restored ${line} differs from the source`);
      }
    },
  );
}

testNeeding(
  exclude,
  btrfsAvailable,
  btrfsNeeds,
  'btrfs: a path below a subvolume (served as a tar tree) is excluded relative to that path',
  async () => {
    const fixture = await CliFixture.create();
    const subvolume = await fixture.subvolume({});
    await plant(subvolume, { 'home/a/keep': 'k\n', 'home/a/.cache/big': 'c\n', 'other/.cache/big': 'not below home\n' });
    const id = fixture.json(['create', path.join(subvolume, 'home'), '--exclude', '*/.cache']).id as string;
    const restored = path.join(fixture.home, 'restored');
    assert.is(fixture.cli(['restore', id, restored]).status, 0);
    assert.equal(names(await treeOf(restored)), ['a/', 'a/keep']);
  },
);

testNeeding(
  exclude,
  isRoot,
  'root (a tmpfs mounted with strictatime)',
  'directory: what is excluded is never listed nor read (its access times stay as they were)',
  async () => {
    const fixture = await CliFixture.create();
    const source = path.join(fixture.home, 'source');
    await mkdir(source);
    sh('mount', ['-t', 'tmpfs', '-o', 'strictatime,size=16m', 'tmpfs', source]);
    try {
      await plant(source, { 'read.txt': 'read\n', 'skipped/inner/file': 'never read\n', 'skipped.txt': 'never read\n' });
      const past = new Date('2001-01-01T00:00:00Z');
      for (const name of ['read.txt', 'skipped/inner/file', 'skipped/inner', 'skipped', 'skipped.txt'])
        await utimes(path.join(source, name), past, past);
      const result = fixture.cli(['create', source, '--exclude', 'skipped', '--exclude', 'skipped.txt']);
      assert.is(result.status, 0, result.stderr);
      const atime = async (name: string) => (await stat(path.join(source, name))).atime.getTime();
      // The check can fail: the file that was backed up was read.
      assert.is.not(await atime('read.txt'), past.getTime());
      for (const name of ['skipped', 'skipped/inner', 'skipped/inner/file', 'skipped.txt'])
        assert.is(await atime(name), past.getTime(), name);
    } finally {
      sh('umount', [source]);
    }
  },
);

testNeeding(
  exclude,
  btrfsAvailable,
  btrfsNeeds,
  'btrfs: a path the snapshot cannot lose (an immutable file) fails the create naming it; nothing is written, no snapshot kept',
  async () => {
    const fixture = await CliFixture.create();
    const source = await fixture.subvolume({});
    await plant(source, { 'locked/file': 'immutable\n', other: 'o\n' });
    sh('chattr', ['+i', path.join(source, 'locked/file')]);
    try {
      const result = fixture.cli(['create', source, '--exclude', 'locked']);
      assert.is(result.status, 1, result.stderr);
      assert.match(result.stderr, /error RB008: excluding locked from the snapshot .*immutable or append-only/);
      assert.equal(await snapshotOf(fixture.repository), []);
      assert.not.match(sh('btrfs', ['subvolume', 'list', source]), /snapshots/);
    } finally {
      sh('chattr', ['-i', path.join(source, 'locked/file')]);
    }
  },
);

exclude('bad patterns and exclude files are usage errors naming them; nothing is written', async () => {
  const fixture = await CliFixture.create();
  const source = await fixture.directory('source');
  const cases: Array<[string[], RegExp]> = [
    [['--exclude', '../etc'], /--exclude: the pattern "\.\.\/etc" holds "\.\."/],
    [['--exclude', ''], /--exclude: the pattern "" is empty/],
    [['--exclude', '/'], /--exclude: the pattern "\/" names the source itself/],
    [['--exclude-file', path.join(fixture.home, 'missing')], /--exclude-file .*missing: cannot read it: does not exist/],
    [['--exclude-file', fixture.home], /--exclude-file .*: cannot read it: is a directory/],
  ];
  const badFile = path.join(fixture.home, 'bad-patterns');
  await writeFile(badFile, '# fine\nfine\n\nsub/../..\n');
  cases.push([['--exclude-file', badFile], /--exclude-file .*bad-patterns:4: the pattern "sub\/\.\.\/\.\." holds "\.\."/]);
  for (const [args, message] of cases) {
    for (const dryRun of [[], ['--dry-run']]) {
      const result = fixture.cli(['create', source, ...args, ...dryRun]);
      assert.is(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.is(result.stderr.trim().split('\n').length, 1, result.stderr);
    }
  }
  const config = await fixture.otherConfig('bad', 'exclude = ["ok", "../up"]\n');
  const result = fixture.cli(['create', source], {}, config);
  assert.is(result.status, 2);
  assert.match(result.stderr, /bad\.toml: backup\.exclude.*pattern "\.\.\/up" holds "\.\."/);
  assert.equal(await snapshotOf(fixture.repository), []);
});

exclude.run();

// ---

const dryRun = suite('create --dry-run');

for (const kind of ['directory', 'btrfs'] as const) {
  testNeeding(
    dryRun,
    kind === 'directory' || btrfsAvailable,
    btrfsNeeds,
    `${kind}: tells the files and bytes a full and an incremental backup would store, writes nothing and keeps no snapshot`,
    async () => {
      const fixture = await CliFixture.create();
      const source = kind === 'directory' ? await fixture.directory('source', {}) : await fixture.subvolume({});
      await plant(source, { 'a.txt': 'aaaa\n', 'b/c.txt': 'c\n', 'b/big': 'x'.repeat(100_000), 'skip/me': 'not counted\n' });
      // Every subvolume of the filesystem, snapshots included (by path: generations move on).
      const subvolumes = () =>
        kind === 'btrfs'
          ? sh('btrfs', ['subvolume', 'list', source])
              .split('\n')
              .map((line) => line.replace(/^.* path /, ''))
              .join('\n')
          : '';

      const before = { repository: await snapshotOf(fixture.repository), subvolumes: subvolumes() };
      const full = fixture.json(['create', source, '--dry-run', '--exclude', 'skip']);
      assert.equal(
        {
          parent: full.parent,
          files: full.files,
          bytes: full.bytes,
          kind: full.kind,
          exclude: full.exclude,
          excludedEntries: full.excludedEntries,
        },
        { parent: null, files: 3, bytes: 100_007, kind, exclude: ['skip'], excludedEntries: 1 },
      );
      const text = fixture.cli(['create', source, '--dry-run']);
      assert.is(text.status, 0, text.stderr);
      assert.match(text.stdout, /would be backed up as a full backup/);
      assert.match(text.stdout, /^ {2}4 files, 97\.7 KiB of content to store$/m);
      assert.equal(await snapshotOf(fixture.repository), before.repository);
      assert.is(subvolumes(), before.subvolumes);

      const made = fixture.json(['create', source, '--exclude', 'skip']).id as string;
      await appendFile(path.join(source, 'a.txt'), 'more\n');
      await writeFile(path.join(source, 'new.txt'), 'new\n');
      await writeFile(path.join(source, 'skip/other'), 'excluded\n');
      const repositoryBefore = await snapshotOf(fixture.repository);
      const subvolumesBefore = subvolumes();
      const incremental = fixture.json(['create', source, '--dry-run', '--parent', 'latest', '--exclude', 'skip']);
      assert.equal(
        { parent: incremental.parent, files: incremental.files, bytes: incremental.bytes },
        // a.txt whole (small files are stored inline on btrfs, and whole in a tar) and new.txt.
        { parent: made, files: 2, bytes: 14 },
      );
      assert.match(fixture.cli(['create', source, '--dry-run', '--parent', 'latest']).stdout, new RegExp(`as an incremental on ${made}`));
      assert.equal(await snapshotOf(fixture.repository), repositoryBefore);
      assert.is(subvolumes(), subvolumesBefore);
      assert.is(fixture.json(['list']).length, 1);
      // The snapshot the next incremental needs is still there: it is made, and restores.
      const next = fixture.json(['create', source, '--parent', 'latest', '--exclude', 'skip']);
      assert.is(next.parent, made);
    },
  );
}

dryRun.run();
