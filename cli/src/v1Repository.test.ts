import { spawnSync } from 'node:child_process';
import { appendFile, cp, mkdir, readdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { displayPath } from '@rast-backup/core';
import { isRoot, temporaryDirectory, testNeeding } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BINARY = path.resolve(HERE, '..', '..', 'node_modules', '.bin', 'rast-backup');
/** A repository written by commit 42f6f4f (file index version 1); cli/fixtures/v1-repository/make.sh made it. */
const FIXTURE = path.resolve(HERE, '..', 'fixtures', 'v1-repository');
/** Where the fixture's directory source was: an incremental on its backups must be of the same path. */
const SOURCE = '/tmp/rast-v1-fixture/source';

const { fingerprint } = (await import(pathToFileURL(path.join(FIXTURE, 'fingerprint.mjs')).href)) as {
  fingerprint(root: string): Promise<string>;
};

function cli(args: string[]) {
  const result = spawnSync(BINARY, args, { encoding: 'utf8', env: { ...process.env, RAST_BACKUP_CONFIG: '' } });
  return { status: result.status, stdout: String(result.stdout), stderr: String(result.stderr) };
}

function json<T = any>(result: ReturnType<typeof cli>): T {
  assert.is(result.status, 0, `exit ${result.status}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

const expected = (name: string) => readFile(path.join(FIXTURE, `expected-${name}.txt`), 'utf8');

/** The paths of a fingerprint, as displayPath writes them. */
const pathsOf = (print: string) =>
  print
    .trimEnd()
    .split('\n')
    .map((line) => {
      const fields = line.split(' ');
      return fields[0] === 'f' ? fields[4]! : fields[0] === 'd' ? fields[2]! : fields[1]!;
    });

/** A copy of the fixture's repository (tests must not change the fixture), and a config for it. */
async function copyOfFixture() {
  const home = await temporaryDirectory();
  const repository = path.join(home, 'repository');
  await cp(path.join(FIXTURE, 'repository'), repository, { recursive: true });
  const config = path.join(home, 'config.toml');
  await writeFile(config, `[storage]\nlocal.path = ${JSON.stringify(repository)}\n\n[backup]\npart_size_mib = 1\n`);
  const backups = json<any[]>(cli(['list', '--json', '--config', config]));
  const byName = new Map(backups.map((backup) => [backup.name as string, backup]));
  return { home, repository, config, backups, byName };
}

const v1 = suite('cli: a version 1 repository (index v1, made by commit 42f6f4f)');

testNeeding(
  v1,
  isRoot,
  'root (the fixture is owned by root; restore sets owners)',
  'list, verify, ls, info --files and restore read it',
  async () => {
    const { home, config, backups, byName } = await copyOfFixture();
    assert.equal(
      backups.map((backup) => [backup.name, backup.format, backup.parent && backups.find((other) => other.id === backup.parent)?.name]),
      [
        ['directory-full', 'tar', null],
        ['directory-incremental', 'tar', 'directory-full'],
        ['btrfs-full', 'btrfs-send', null],
        ['btrfs-incremental', 'btrfs-send', 'btrfs-full'],
      ],
    );
    const verified = json(cli(['verify', '--all', '--level', 'full', '--json', '--config', config]));
    assert.ok(verified.ok, JSON.stringify(verified));

    for (const name of ['directory-full', 'directory-incremental', 'btrfs-full', 'btrfs-incremental']) {
      const id = byName.get(name)!.id as string;
      const print = await expected(name);
      const files = json(cli(['info', id, '--files', '--json', '--config', config])).files as Array<{ path: string }>;
      assert.equal(
        files.map((file) => displayPath(file.path)),
        pathsOf(print),
        `info --files of ${name}`,
      );
      const root = json(cli(['ls', id, '--json', '--config', config])).entries as Array<{ path: string }>;
      assert.equal(
        root.map((entry) => displayPath(entry.path)),
        pathsOf(print).filter((file) => file !== '.' && !file.includes('/')),
        `ls of ${name}`,
      );
      const docs = cli(['ls', id, '/docs', '--config', config]);
      assert.is(docs.status, 0, docs.stderr);
      assert.equal(
        docs.stdout
          .trimEnd()
          .split('\n')
          .map((line) => line.split(/\s+/)[4]),
        pathsOf(print).filter((file) => /^docs\/[^/]+$/.test(file)),
        `ls /docs of ${name}`,
      );

      const whole = path.join(home, `${name}-whole`);
      const restored = cli(['restore', id, whole, '--config', config]);
      assert.is(restored.status, 0, restored.stderr);
      assert.fixture(await fingerprint(whole), print, `restore of ${name}`);

      const some = path.join(home, `${name}-some`);
      const included = cli(['restore', id, some, '--include', '/docs/*', '/tagged.txt', '--config', config]);
      assert.is(included.status, 0, included.stderr);
      // What the patterns name, and nothing else but their parents; a hard link's other name is not restored, so it is a link no more.
      const named = (file: string) => file.startsWith('docs/') || file === 'tagged.txt';
      const linesNamed = (text: string) => {
        const paths = pathsOf(text);
        return text
          .trimEnd()
          .split('\n')
          .filter((_, at) => named(paths[at]!))
          .map((line) => line.replace(/ link:\S+/, ''));
      };
      const got = await fingerprint(some);
      assert.equal(linesNamed(got), linesNamed(print), `restore --include of ${name}`);
      assert.equal(
        pathsOf(got).filter((file) => !named(file)),
        ['.', 'docs'],
        `restore --include of ${name}: nothing else`,
      );
    }
  },
);

testNeeding(
  v1,
  isRoot,
  'root (the fixture is owned by root; restore sets owners)',
  'an incremental of today on a version 1 parent: index v2 over v1, restored whole',
  async () => {
    const { home, repository, config, byName } = await copyOfFixture();
    const parent = byName.get('directory-incremental')!.id as string;
    await rm(SOURCE, { recursive: true, force: true });
    try {
      // The source as the parent saw it, then changed: modified, deleted, added.
      const put = cli(['restore', parent, SOURCE, '--config', config]);
      assert.is(put.status, 0, put.stderr);
      await appendFile(path.join(SOURCE, 'docs', 'a-b'), 'more\n');
      await unlink(path.join(SOURCE, 'tagged.txt'));
      await mkdir(path.join(SOURCE, 'docs', 'a', 'b'), { recursive: true });
      await writeFile(path.join(SOURCE, 'docs', 'a', 'b', 'c'), 'c\n');

      const created = json(cli(['create', SOURCE, '--parent', parent, '--json', '--config', config]));
      assert.is(created.parent, parent);
      const decoded = (id: string) => spawnSync('zstd', ['-dc', path.join(repository, 'data', id, 'index')], { encoding: 'utf8' }).stdout;
      assert.is(JSON.parse(decoded(parent).split('\n')[0]!).version, 1, 'the parent keeps its version 1 index');
      const index = JSON.parse(decoded(created.id));
      // storedSize counts every object the backup stored: its parts, its index header and the index's blocks.
      const stored = await readdir(path.join(repository, 'data', created.id));
      assert.ok(
        stored.some((name) => /^index\.\d{6}$/.test(name)),
        stored.join(' '),
      );
      let bytes = 0;
      for (const name of stored) bytes += (await stat(path.join(repository, 'data', created.id, name))).size;
      assert.is(created.storedSize, bytes, 'storedSize');
      assert.equal([index.version, index.over, index.layers], [2, null, 1], 'a version 2 index, alone: it never lies over a version 1 one');

      const print = await fingerprint(SOURCE);
      const files = json(cli(['info', created.id, '--files', '--json', '--config', config])).files as Array<{ path: string }>;
      assert.equal(
        files.map((file) => displayPath(file.path)),
        pathsOf(print),
      );
      const verified = json(cli(['verify', created.id, '--level', 'full', '--json', '--config', config]));
      assert.ok(verified.ok, JSON.stringify(verified));
      const whole = path.join(home, 'new-whole');
      const restored = cli(['restore', created.id, whole, '--config', config]);
      assert.is(restored.status, 0, restored.stderr);
      assert.fixture(await fingerprint(whole), print);
      const one = path.join(home, 'new-one');
      const included = cli(['restore', created.id, one, '--include', '/docs/a/b/c', '--config', config]);
      assert.is(included.status, 0, included.stderr);
      assert.is(await readFile(path.join(one, 'docs', 'a', 'b', 'c'), 'utf8'), 'c\n');
    } finally {
      await rm(path.dirname(SOURCE), { recursive: true, force: true });
    }
  },
);

v1.run();
