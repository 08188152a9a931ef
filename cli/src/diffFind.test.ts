import { spawnSync } from 'node:child_process';
import { appendFile, chmod, chown, mkdir, readdir, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isRoot, temporaryDirectory, testNeeding } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const BINARY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'node_modules', '.bin', 'rast-backup');
const hasBtrfs = spawnSync('mkfs.btrfs', ['--version']).status === 0;

function cli(args: string[]) {
  const result = spawnSync(BINARY, args, { encoding: 'utf8', env: { ...process.env, RAST_BACKUP_CONFIG: '' } });
  return { status: result.status, stdout: String(result.stdout), stderr: String(result.stderr) };
}

function json<T = any>(args: string[]): T {
  const result = cli([...args, '--json']);
  assert.is(result.status, 0, `${args.join(' ')}: exit ${result.status}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

function sh(command: string, args: string[]): void {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr}`);
}

/** A directory to back up: a plain one, or a subvolume of a loop-mounted btrfs (unmounted at exit). */
async function sourceOf(kind: 'directory' | 'btrfs', home: string): Promise<string> {
  if (kind === 'directory') {
    await mkdir(path.join(home, 'source'));
    return path.join(home, 'source');
  }
  const [image, mountPoint] = [path.join(home, 'btrfs.img'), path.join(home, 'btrfs')];
  await mkdir(mountPoint);
  sh('truncate', ['-s', '200M', image]);
  sh('mkfs.btrfs', ['-q', '-f', image]);
  sh('mount', ['-o', 'loop', image, mountPoint]);
  sh('btrfs', ['subvolume', 'create', path.join(mountPoint, 'data')]);
  return path.join(mountPoint, 'data');
}

/**
 * Three backups of one source: a full one, an incremental after changes of every kind, and a full one of the
 * same tree; and a backup of another source.
 */
async function backups(kind: 'directory' | 'btrfs') {
  const home = await temporaryDirectory();
  const config = path.join(home, 'config.toml');
  await writeFile(config, `[storage]\nlocal.path = ${JSON.stringify(path.join(home, 'repository'))}\n`);
  const source = await sourceOf(kind, home);
  const at = (name: string) => path.join(source, name);
  await mkdir(at('dir'));
  await writeFile(at('file1'), 'one\n');
  await writeFile(at('dir/a.txt'), 'a\n');
  await writeFile(at('dir/same.txt'), '1234\n');
  await writeFile(at('old'), 'gone\n');
  await writeFile(at('kind'), 'a file, then a directory\n');
  await symlink('file1', at('link'));
  const create = (...flags: string[]) => json(['create', source, ...flags, '--config', config]).id as string;
  const first = create();

  await appendFile(at('file1'), 'more\n');
  sh('python3', ['-c', 'import os, sys; os.setxattr(sys.argv[1], "user.note", b"v")', at('file1')]);
  await rm(at('old'));
  await writeFile(at('dir/new'), 'new\n');
  await chmod(at('dir/a.txt'), 0o600);
  await chown(at('dir/a.txt'), 1000, 1000);
  // Rewritten with the same size and the same modification time: only where its data lies tells.
  const keepTime =
    'import os, sys; t = os.stat(sys.argv[1]).st_mtime_ns; open(sys.argv[1], "w").write("5678\\n"); os.utime(sys.argv[1], ns=(t, t))';
  sh('python3', ['-c', keepTime, at('dir/same.txt')]);
  await unlink(at('kind'));
  await mkdir(at('kind'));
  await unlink(at('link'));
  await symlink('dir', at('link'));
  const second = create('--parent', 'latest');
  const third = create();

  const other = path.join(home, 'other');
  await mkdir(other);
  await writeFile(path.join(other, 'file1'), 'elsewhere\n');
  const elsewhere = json(['create', other, '--config', config]).id as string;
  return { home, config, source, other, ids: [first, second, third, elsewhere] };
}

/** path → what changed, files and the path that changed type only (directories' times change with their entries). */
function changed(differences: any[]): Record<string, string> {
  const shown: Record<string, string> = {};
  for (const difference of differences) {
    const type = (difference.after ?? difference.before).type;
    if (type === 'directory' && difference.path !== 'kind') continue;
    shown[difference.path] = difference.change === 'modified' ? `modified ${difference.changes.join(',')}` : difference.change;
  }
  return shown;
}

for (const kind of ['directory', 'btrfs'] as const) {
  const test = suite(`cli: diff and find (${kind} source)`);
  const available = kind === 'directory' ? isRoot : isRoot && hasBtrfs;
  const needs = kind === 'directory' ? 'root (chown)' : 'root and btrfs-progs (a loop-mounted btrfs)';

  testNeeding(
    test,
    available,
    needs,
    'diff lists what was added, removed and modified, and what of it, from the indexes alone',
    async () => {
      const { home, config, source, other, ids } = await backups(kind);
      const [first, second, third, elsewhere] = ids as [string, string, string, string];
      // No part is read: the data is gone, the indexes are left.
      const data = path.join(home, 'repository', 'data');
      for (const id of await readdir(data))
        for (const name of await readdir(path.join(data, id))) if (name.endsWith('.part')) await rm(path.join(data, id, name));

      const expected = {
        'dir/a.txt': 'modified mode,owner',
        'dir/new': 'added',
        'dir/same.txt': 'modified content',
        file1: 'modified content,xattrs',
        kind: 'modified type',
        link: 'modified content',
        old: 'removed',
      };
      const incremental = json(['diff', first, second, '--config', config]);
      assert.equal([incremental.before, incremental.after, incremental.source], [first, second, source]);
      assert.equal(changed(incremental.differences), expected);
      assert.equal(
        [incremental.added, incremental.removed, incremental.modified],
        ['added', 'removed', 'modified'].map((change) => incremental.differences.filter((d: any) => d.change === change).length),
      );
      const paths = incremental.differences.map((difference: any) => difference.path);
      assert.ok(paths.includes('kind') && paths.indexOf('dir/a.txt') < paths.indexOf('file1'), 'in index order');
      const added = incremental.differences.find((difference: any) => difference.path === 'dir/new');
      assert.equal([added.after.type, added.after.size], ['file', 4]);

      // The other way round, and between two chains (the full backup of the same tree): where data lies is not comparable there.
      const back = changed(json(['diff', second, first, '--config', config]).differences);
      assert.equal([back['dir/new'], back.old, back.kind], ['removed', 'added', 'modified type']);
      assert.equal(changed(json(['diff', second, third, '--config', config]).differences), {});
      const across = changed(json(['diff', first, third, '--config', config]).differences);
      assert.is(across['dir/same.txt'], undefined, 'same size and time in another chain: not seen');
      assert.is(across['dir/a.txt'], 'modified mode,owner');

      const text = cli(['diff', first, second, '--config', config]);
      assert.is(text.status, 0, text.stderr);
      assert.match(text.stdout, /^\+ dir\/new$/m);
      assert.match(text.stdout, /^- old$/m);
      assert.match(text.stdout, /^M dir\/a\.txt \(mode, owner\)$/m);
      assert.match(text.stdout, /^\d+ added, \d+ removed, \d+ modified\n$/m);

      const refused = cli(['diff', first, elsewhere, '--config', config]);
      assert.is(refused.status, 2, refused.stderr);
      assert.match(
        refused.stderr,
        new RegExp(`${first} \\(source ${source}\\) and ${elsewhere} \\(source ${other}\\) are of different sources`),
      );
      assert.is(refused.stderr.trim().split('\n').length, 1);
    },
  );

  testNeeding(test, available, needs, 'find names the backups holding matching paths, with their size and time', async () => {
    const { config, source, other, ids } = await backups(kind);
    const [first, second, third, elsewhere] = ids as [string, string, string, string];
    const found = json(['find', '/dir/*.txt', 'file1', '--config', config]);
    assert.is(found.backups, 4);
    assert.equal(
      found.matches.map((match: any) => `${match.backup} ${match.path} ${match.size}`),
      [
        `${first} dir/a.txt 2`,
        `${first} dir/same.txt 5`,
        `${first} file1 4`,
        `${second} dir/a.txt 2`,
        `${second} dir/same.txt 5`,
        `${second} file1 9`,
        `${third} dir/a.txt 2`,
        `${third} dir/same.txt 5`,
        `${third} file1 9`,
        `${elsewhere} file1 10`,
      ],
    );
    assert.ok(found.matches.every((match: any) => /^\d+$/.test(match.mtime) && match.source && match.created));
    assert.equal(found.unmatched, []);

    // A removed file: which backups still hold it.
    assert.equal(
      json(['find', 'old', '--config', config]).matches.map((match: any) => match.backup),
      [first],
    );
    assert.equal(
      json(['find', '**/ol?', '--config', config]).matches.map((match: any) => match.backup),
      [first],
      'a glob: the removal in the incremental hides the entry of the full backup',
    );
    assert.equal(
      json(['find', '**/new', '--source', source, '--config', config]).matches.map((match: any) => match.backup),
      [second, third],
    );
    assert.equal(
      json(['find', '/file1', '--source', other, '--config', config]).matches.map((match: any) => match.backup),
      [elsewhere],
    );
    const future = json(['find', '**', '--since', '2999-01-01', '--config', config]);
    assert.equal([future.backups, future.matches], [0, []]);
    assert.is(json(['find', '/file1', '--since', '1h', '--config', config]).matches.length, 4);

    const text = cli(['find', '/dir/new', 'nothing/*.here', '--config', config]);
    assert.is(text.status, 0, text.stderr);
    const lines = text.stdout.trim().split('\n');
    assert.is(lines.length, 2);
    assert.match(lines[0]!, new RegExp(`^${second}  file\\s+4 B  \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z  dir/new$`));
    assert.match(text.stderr, /warning: pattern nothing\/\*\.here matched no path in the 4 backup\(s\) searched/);

    const bad = cli(['find', 'x', '--since', 'yesterday', '--config', config]);
    assert.is(bad.status, 2);
    assert.match(bad.stderr, /--since "yesterday": not a date, time or age/);
  });

  test.run();
}
