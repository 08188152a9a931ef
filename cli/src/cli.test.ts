import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setAttribute } from '@napi-rs/xattr';
import { isRoot, temporaryDirectory, waitFor } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const BINARY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'node_modules', '.bin', 'rast-backup');

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], options: SpawnSyncOptions = {}, command = BINARY): Result {
  const result = spawnSync(command, args, { encoding: 'utf8', env: { ...process.env, RAST_BACKUP_CONFIG: '' }, ...options });
  return { status: result.status, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** A config file with a fresh local repository; 1 MiB parts. */
async function setup(extra = '') {
  const home = await temporaryDirectory();
  const repository = path.join(home, 'repository');
  const config = path.join(home, 'config.toml');
  await writeFile(config, `[storage]\nlocal.path = ${JSON.stringify(repository)}\n\n[backup]\npart_size_mib = 1\n${extra}`);
  const source = path.join(home, 'source');
  await mkdir(path.join(source, 'dir', 'sub'), { recursive: true });
  await writeFile(path.join(source, 'file1'), 'one\n');
  await writeFile(path.join(source, 'dir', 'a.txt'), 'a\n');
  await writeFile(path.join(source, 'dir', 'sub', 'b.txt'), 'b\n');
  await writeFile(path.join(source, 'random.bin'), Buffer.from(Array.from({ length: 2_500_000 }, (_, i) => (i * 2654435761) >>> 24)));
  return { home, repository, config, source };
}

function json<T = any>(result: Result): T {
  assert.is(result.status, 0, `exit ${result.status}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

function assertFails(result: Result, status: number, message: RegExp) {
  assert.is(result.status, status, `expected exit ${status}, got ${result.status}: ${result.stderr}`);
  assert.match(result.stderr, message);
  assert.not.match(result.stderr, /^\s+at /m, 'no stack trace');
}

// ---

const flow = suite('cli: backups end to end');

flow('create, list, info, verify, restore and delete through the real binary', async () => {
  const { config, source, home } = await setup();
  const created = json(cli(['create', source, '--name', 'Full Backup', '--tag', 'daily', '--tag', 'test', '--json', '--config', config]));
  assert.match(created.id, /^\d{8}T\d{6}Z-[0-9a-f]{6}$/);
  const listed = json<any[]>(cli(['list', '--json', '--config', config]));
  assert.is(listed.length, 1);
  for (const key of ['id', 'name', 'tags', 'parent', 'created', 'source', 'format', 'size', 'storedSize', 'sinks'])
    assert.ok(key in listed[0], `list --json has ${key}`);
  assert.equal(
    [listed[0].name, listed[0].tags, listed[0].parent, listed[0].source, listed[0].sinks],
    ['Full Backup', ['daily', 'test'], null, source, ['local']],
  );
  assert.ok(!Number.isNaN(Date.parse(listed[0].created)));

  const info = json(cli(['info', created.id.slice(0, -1), '--json', '--config', config]));
  assert.is(info.id, created.id);
  assert.equal(info.chain, [created.id]);
  assert.is(cli(['verify', 'latest', '--config', config]).status, 0);

  const root = json(cli(['ls', 'latest', '--json', '--config', config]));
  assert.equal(
    root.entries.map((entry: any) => entry.path),
    ['dir', 'file1', 'random.bin'],
  );
  const tree = json(cli(['ls', 'latest', '/dir/', '-R', '--json', '--config', config]));
  assert.equal(
    tree.entries.map((entry: any) => entry.path),
    ['dir/a.txt', 'dir/sub', 'dir/sub/b.txt'],
  );
  assert.match(cli(['ls', 'latest', 'dir/a.txt', '--config', config]).stdout, /^file\s+0\d{3}.*\s2 {2}dir\/a\.txt\n$/);
  assertFails(cli(['ls', 'latest', 'dir/nope', '--config', config]), 2, /backup \S+ has no dir\/nope/);
  assertFails(cli(['ls', 'latest', '../etc', '--config', config]), 2, /"\.\." is not allowed/);

  const destination = path.join(home, 'restored');
  const restored = json(cli(['restore', created.id, destination, '--json', '--config', config]));
  assert.is(restored.backup, created.id);
  assert.is(await readFile(path.join(destination, 'dir', 'sub', 'b.txt'), 'utf8'), 'b\n');
  assert.equal(await readFile(path.join(destination, 'random.bin')), await readFile(path.join(source, 'random.bin')));

  const incremental = json(cli(['create', source, '--parent', 'latest', '--json', '--config', config]));
  assert.is(incremental.parent, created.id);
  assertFails(cli(['delete', created.id, '--config', config]), 1, new RegExp(`parent of ${incremental.id}`));
  assert.is(cli(['delete', incremental.id, '--config', config]).status, 0);
  assert.is(cli(['delete', created.id, '--config', config]).status, 0);
  assert.equal(json(cli(['list', '--config', config, '--json'])), []);
});

flow('a source path that is not UTF-8 is backed up, listed and restored from its exact bytes', async () => {
  const { config, home } = await setup();
  // Its bytes reach the binary only through a shell (Node passes arguments as text): printf makes \351 the byte 0xe9.
  const source = Buffer.concat([Buffer.from(`${home}/lat`), Buffer.from([0xe9])]);
  await mkdir(source);
  await writeFile(Buffer.concat([source, Buffer.from('/inside.txt')]), 'inside\n');
  const create = (...extra: string[]) =>
    cli(['-c', `exec "$0" create "$(printf "$1")" --json --config "$2" ${extra.join(' ')}`, BINARY, `${home}/lat\\351`, config], {}, 'sh');
  const full = json(create());
  assert.is(full.source, `${home}/lat\udce9`, 'the manifest names the source by its bytes');
  const incremental = json(create('--parent', 'latest'));
  assert.is(incremental.parent, full.id, '--parent latest finds the earlier backup of the same bytes');
  assert.match(cli(['list', '--config', config]).stdout, /lat\\xe9/, 'list shows the byte as \\xe9');
  const destination = path.join(home, 'restored');
  json(cli(['restore', incremental.id, destination, '--json', '--config', config]));
  assert.is(await readFile(path.join(destination, 'inside.txt'), 'utf8'), 'inside\n');
});

flow('restore --include of a tar chain reads only the parts that hold the selected files', async () => {
  const { config, source, home } = await setup();
  const full = json(cli(['create', source, '--json', '--config', config]));
  await writeFile(path.join(source, 'file1'), 'one, changed\n');
  const incremental = json(cli(['create', source, '--parent', 'latest', '--json', '--config', config]));
  const destination = path.join(home, 'partial');
  const restored = json(cli(['restore', incremental.id, destination, '--include', 'file1', 'dir/a.txt', '--json', '--config', config]));
  assert.is(await readFile(path.join(destination, 'file1'), 'utf8'), 'one, changed\n');
  assert.is(await readFile(path.join(destination, 'dir', 'a.txt'), 'utf8'), 'a\n', 'from the full backup, by its span');
  assert.ok(
    full.size > 2_500_000 && restored.read <= 2 * 1024 * 1024,
    `two small files read at most a part of each backup (${restored.read} of ${restored.chainSize} bytes)`,
  );
  assert.equal((await readdir(destination, { recursive: true })).sort(), ['dir', 'dir/a.txt', 'file1'], 'only the selected files');
  const whole = json(
    cli(['restore', incremental.id, path.join(home, 'restored-whole'), '--include', 'random.bin', '--json', '--config', config]),
  );
  assert.equal(
    await readFile(path.join(home, 'restored-whole', 'random.bin')),
    await readFile(path.join(source, 'random.bin')),
    'a file over several parts',
  );
  assert.ok(whole.read >= 2_500_000);
});

flow('restore --include takes several patterns after one flag, and repeated flags', async () => {
  const { config, source, home } = await setup();
  json(cli(['create', source, '--config', config, '--json']));
  const first = path.join(home, 'first');
  assert.is(cli(['restore', 'latest', first, '--include', '/file1', '/dir/sub/*', '--config', config]).status, 0);
  assert.equal((await readdir(first, { recursive: true })).sort(), ['dir', 'dir/sub', 'dir/sub/b.txt', 'file1']);
  const second = path.join(home, 'second');
  assert.is(cli(['restore', 'latest', second, '--include', 'dir/a.txt', '--include', 'file1', '--config', config]).status, 0);
  assert.equal((await readdir(second, { recursive: true })).sort(), ['dir', 'dir/a.txt', 'file1']);
});

flow('a name that is not UTF-8 is backed up with its xattrs, listed as \\xHH, selected by that form, restored byte for byte', async () => {
  const { config, source, home } = await setup();
  const name = Buffer.concat([Buffer.from('lat-'), Buffer.from([0xe9, 0xff])]);
  await writeFile(Buffer.concat([Buffer.from(`${source}/dir/`), name]), 'x');
  const created = cli(['create', source, '--config', config]);
  assert.is(created.status, 0, created.stderr);
  assert.is(created.stderr, '', 'no warning: xattrs are read by the bytes of the path');
  const listed = cli(['ls', 'latest', 'dir', '--config', config]);
  assert.match(listed.stdout, / {2}dir\/lat-\\xe9\\xff\n/);
  assert.match(cli(['ls', 'latest', 'dir/lat-\\xe9\\xff', '--config', config]).stdout, /file .* 1 {2}dir\/lat-\\xe9\\xff\n/);
  const restored = path.join(home, 'restored');
  assert.is(cli(['restore', 'latest', restored, '--include', 'dir/lat-\\xe9\\xff', '--config', config]).status, 0);
  assert.equal(await readdir(path.join(restored, 'dir'), { encoding: 'buffer' }), [name]);
});

flow('a name with a newline is listed on one line as \\x0a, selected by that form, restored as it was', async () => {
  const { config, source, home } = await setup();
  await writeFile(path.join(source, 'dir', 'two\nlines'), 'y');
  assert.is(cli(['create', source, '--config', config]).status, 0);
  const listed = cli(['ls', 'latest', 'dir', '--config', config]).stdout;
  assert.match(listed, / {2}dir\/two\\x0alines\n/);
  assert.ok(
    listed.split('\n').every((line) => !line.endsWith('dir/two')),
    'no entry is split over two lines',
  );
  const restored = path.join(home, 'restored');
  assert.is(cli(['restore', 'latest', restored, '--include', 'dir/two\\x0alines', '--config', config]).status, 0);
  assert.equal(await readdir(path.join(restored, 'dir')), ['two\nlines']);
});

flow('a project config in the current directory is found; config shows which file is used', async () => {
  const { config, home } = await setup();
  await writeFile(path.join(home, 'rast-backup.config.toml'), await readFile(config));
  const shown = json(cli(['config', '--json'], { cwd: home }));
  assert.is(shown.file, path.join(home, 'rast-backup.config.toml'));
  assert.is(shown.origin, 'project');
  const plugins = json<any[]>(cli(['plugins', '--json'], { cwd: home }));
  const local = plugins.find((plugin) => plugin.name === '@rast-backup/plugin-local');
  assert.ok(local.active);
  assert.equal(local.hooks, ['sinks']);
});

flow.run();

// ---

const ids = suite('cli: backup ids');

ids('unknown ids and ambiguous prefixes are errors with exit 1', async () => {
  const { config, source } = await setup();
  json(cli(['create', source, '--config', config, '--json']));
  json(cli(['create', source, '--config', config, '--json']));
  assertFails(cli(['info', '2', '--config', config]), 1, /backup id 2 is ambiguous: it matches 2 backups/);
  assertFails(cli(['info', 'nope', '--config', config]), 1, /no backup nope in local/);
});

ids.run();

// ---

const badInput = suite('cli: bad input');

badInput('a source that does not exist', async () => {
  const { config, home } = await setup();
  assertFails(cli(['create', path.join(home, 'missing'), '--config', config]), 1, /source .*missing does not exist/);
});

badInput('a source that cannot be read', async () => {
  const { config, home, repository } = await setup();
  const secret = path.join(home, 'secret');
  await mkdir(secret, { mode: 0o700 });
  await writeFile(path.join(secret, 'x'), 'x');
  if (isRoot) {
    // root reads everything: run the CLI as nobody against a repository nobody may write.
    assertFails(
      cli(['create', secret, '--config', config], await asNobody(home, repository, config)),
      1,
      /secret is not readable \(permission denied\)/,
    );
  } else {
    await chmod(secret, 0);
    assertFails(cli(['create', secret, '--config', config]), 1, /secret is not readable/);
  }
});

/** As root, the user nobody, with the config readable and the repository writable by it; as anyone else, themselves. */
async function asNobody(home: string, repository: string, config: string): Promise<{ uid?: number; gid?: number }> {
  if (!isRoot) return {};
  await mkdir(repository, { recursive: true });
  await chmod(home, 0o755);
  await chmod(repository, 0o777);
  await chmod(config, 0o644);
  return { uid: 65534, gid: 65534 };
}

badInput('a file that cannot be read is left out with a warning; the backup succeeds', async () => {
  const { config, home, repository, source } = await setup();
  await chmod(path.join(source, 'file1'), 0);
  // root reads everything: run the CLI as nobody, who may read the rest of the source and write the repository.
  const as = await asNobody(home, repository, config);
  const result = cli(['create', source, '--json', '--config', config], as);
  const created = json(result);
  assert.match(result.stderr, /warning: file1: not backed up: EACCES/);
  const listed = json(cli(['ls', created.id, '--json', '--config', config], as));
  assert.equal(
    listed.entries.map((entry: any) => entry.path),
    ['dir', 'random.bin'],
    'file1 is not in the index',
  );
});

badInput('an xattr that cannot be read is named in a warning, in a full and an incremental; the entry is kept', async () => {
  const { config, home, repository, source } = await setup();
  // Listing a directory's xattrs needs no permission, reading a user.* one needs read permission on it (root has it).
  const locked = path.join(source, 'locked');
  await mkdir(locked);
  await setAttribute(locked, 'user.note', 'unreadable');
  await chmod(locked, 0o311);
  const as = await asNobody(home, repository, config);
  const warning = /^rast-backup: warning: locked: extended attribute user\.note not backed up: reading it failed \(EACCES\)$/m;
  const full = cli(['create', source, '--json', '--config', config], as);
  const created = json(full);
  assert.match(full.stderr, warning);
  const listed = json(cli(['ls', created.id, '--json', '--config', config], as));
  assert.ok(
    listed.entries.some((entry: any) => entry.path === 'locked'),
    'the directory is in the index',
  );
  // Changed (its mode), so the incremental reads its xattrs again, on the walk's thread rather than a reader's.
  await chmod(locked, 0o331);
  const incremental = cli(['create', source, '--parent', 'latest', '--json', '--config', config], as);
  json(incremental);
  assert.match(incremental.stderr, warning);
});

badInput('a pseudo filesystem as the source (/proc) is refused at once', async () => {
  const { config } = await setup();
  // Walking /proc would read /proc/kcore and thousands of vanishing files: refused before any of that.
  assertFails(cli(['create', '/proc', '--config', config], { timeout: 60_000 }), 1, /RB008: source \/proc is on a proc filesystem/);
});

badInput('a destination that is not empty', async () => {
  const { config, source, home } = await setup();
  json(cli(['create', source, '--config', config, '--json']));
  const destination = path.join(home, 'full');
  await mkdir(destination);
  await writeFile(path.join(destination, 'x'), '');
  assertFails(cli(['restore', 'latest', destination, '--config', config]), 1, /destination .*full is not empty/);
});

badInput('malformed TOML names the file; exit 2', async () => {
  const { config, home } = await setup();
  const broken = path.join(home, 'broken.toml');
  await writeFile(broken, '[storage\nlocal.path = "/x"\n');
  assertFails(cli(['list', '--config', broken]), 2, new RegExp(`${broken}: malformed TOML`));
  void config;
});

badInput('a wrong type names the key; an unknown key suggests the right one; exit 2', async () => {
  const { home, repository } = await setup();
  const wrong = path.join(home, 'wrong.toml');
  await writeFile(wrong, `[storage]\nlocal.path = ${JSON.stringify(repository)}\n[compression]\nlevel = "max"\n`);
  assertFails(cli(['list', '--config', wrong]), 2, /wrong\.toml: compression\.level: Expected a number/);
  await writeFile(wrong, `[storage]\nlocal.pth = ${JSON.stringify(repository)}\n`);
  assertFails(cli(['list', '--config', wrong]), 2, /storage\.local\.pth: unknown key \(did you mean path\?\)/);
});

badInput('an unknown plugin names what was looked for; exit 2', async () => {
  const { home, repository } = await setup();
  const file = path.join(home, 'plugins.toml');
  await writeFile(file, `plugins = ["frobnicate"]\n[storage]\nlocal.path = ${JSON.stringify(repository)}\n`);
  assertFails(cli(['list', '--config', file]), 2, /plugin frobnicate not found: looked for rast-backup-plugin-frobnicate/);
});

badInput('an unknown flag, an extra argument or an unknown command is a one-line usage error; exit 2', async () => {
  const { config } = await setup();
  const usageError = (args: string[], message: RegExp) => {
    const result = cli([...args, '--config', config]);
    assertFails(result, 2, message);
    assert.equal(result.stderr.trimEnd().split('\n'), [result.stderr.split('\n')[0], '(see rast-backup --help)'], result.stderr);
  };
  usageError(['list', '--frobnicate'], /^rast-backup: usage error: Unsupported option name \("--frobnicate"\)/);
  usageError(['list', 'extra'], /^rast-backup: usage error: Extraneous positional argument \("extra"\)/);
  usageError(['lst', '--all'], /^rast-backup: usage error: unknown command "lst"\n/);
});

badInput.run();

// ---

const damage = suite('cli: damaged repositories');

damage(
  'a flipped byte in a part: verify and restore fail naming backup, part and sink, and write nothing outside the destination',
  async () => {
    const { config, source, home, repository } = await setup();
    const created = json(cli(['create', source, '--config', config, '--json']));
    const partFile = path.join(repository, 'data', created.id, '000001.part');
    const bytes = await readFile(partFile);
    bytes[100] ^= 0xff;
    await writeFile(partFile, bytes);
    assertFails(
      cli(['verify', created.id, '--config', config]),
      1,
      new RegExp(`backup ${created.id}, part 2 of \\d+ \\(data/${created.id}/000001\\.part\\) in sink local: SHA-256`),
    );
    const outer = path.join(home, 'outer');
    await mkdir(outer);
    assertFails(
      cli(['restore', created.id, path.join(outer, 'destination'), '--config', config]),
      1,
      new RegExp(`backup ${created.id}, part 2 of \\d+ .*local: SHA-256`),
    );
    assert.equal(await readdir(outer), ['destination']);
  },
);

damage('a missing part fails restore; a missing manifest means the backup is not listed', async () => {
  const { config, source, home, repository } = await setup();
  const created = json(cli(['create', source, '--config', config, '--json']));
  await rm(path.join(repository, 'data', created.id, '000000.part'));
  assertFails(cli(['restore', created.id, path.join(home, 'r'), '--config', config]), 1, /000000\.part.*missing/);
  await rm(path.join(repository, 'backups', `${created.id}.json`));
  assert.equal(json(cli(['list', '--json', '--config', config])), []);
});

damage('a corrupt manifest is reported and listed as damaged, not as a backup', async () => {
  const { config, source, repository } = await setup();
  const created = json(cli(['create', source, '--config', config, '--json']));
  await writeFile(path.join(repository, 'backups', `${created.id}.json`), '{"format": "rast-backup/manifest", "id": "x"');
  const result = cli(['list', '--json', '--config', config]);
  assert.equal(
    json(result).map((entry: any) => [entry.id, entry.status, entry.sinks]),
    [[created.id, 'damaged', ['local']]],
  );
  assert.match(result.stderr, new RegExp(`manifest of backup ${created.id} in sink local .* is damaged`));
  const text = cli(['list', '--config', config]);
  assert.match(
    text.stdout,
    new RegExp(`^damaged: ${created.id}: manifest unreadable \\(backups/${created.id}\\.json in sink local: not JSON`, 'm'),
  );
});

damage('a create killed mid-way lists nothing, and the next create works', async () => {
  const { config, home, repository } = await setup('concurrency = 1\n');
  const big = path.join(home, 'big');
  await mkdir(big);
  await writeFile(path.join(big, 'data'), Buffer.alloc(96 * 1024 * 1024, 1));
  const child = spawn(BINARY, ['create', big, '--config', config], { stdio: 'ignore' });
  const closed = new Promise((resolve) => child.once('close', resolve));
  await waitFor(
    'the create to store its second part',
    async () =>
      (await readdir(path.join(repository, 'data'), { recursive: true }).catch(() => [])).some((name) => name.endsWith('000001.part')),
    60_000,
  );
  child.kill('SIGKILL');
  await closed;
  assert.equal(json(cli(['list', '--json', '--config', config])), []);
  const everything = json<any[]>(cli(['list', '--all', '--json', '--config', config]));
  assert.equal(
    everything.map((entry) => [entry.status, entry.sinks]),
    [['incomplete', ['local']]],
  );
  const created = json(cli(['create', big, '--config', config, '--json']));
  assert.equal(
    json<any[]>(cli(['list', '--json', '--config', config])).map((entry) => entry.id),
    [created.id],
  );

  // delete <full id> removes a leftover's data at once; a prefix or an unknown id still finds nothing.
  const leftover = everything[0].id as string;
  assertFails(cli(['delete', leftover.slice(0, 18), '--config', config]), 1, /error RB010: no backup/);
  const removed = cli(['delete', leftover, '--config', config]);
  assert.is(removed.status, 0, removed.stderr);
  assert.match(removed.stdout, new RegExp(`^deleted the leftover data of ${leftover}: \\d+ objects in local$`, 'm'));
  assert.equal(
    json<any[]>(cli(['list', '--all', '--json', '--config', config])).map((entry) => entry.id),
    [created.id],
  );
  assert.equal(await readdir(path.join(repository, 'data')), [created.id]);
  assertFails(cli(['delete', leftover, '--config', config]), 1, /error RB010: no backup/);
});

damage.run();
