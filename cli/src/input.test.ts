import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { temporaryDirectory } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const BINARY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'node_modules', '.bin', 'rast-backup');

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], options: SpawnSyncOptions = {}): Result {
  const result = spawnSync(BINARY, args, { encoding: 'utf8', env: { ...process.env, RAST_BACKUP_CONFIG: '' }, ...options });
  return { status: result.status, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** A config file (with `extra` appended) and a small source directory. */
async function setup(extra = '') {
  const home = await temporaryDirectory();
  const repository = path.join(home, 'repository');
  const config = path.join(home, 'config.toml');
  await writeFile(config, `[storage]\nlocal.path = ${JSON.stringify(repository)}\n${extra}`);
  const source = path.join(home, 'source');
  await mkdir(path.join(source, 'dir'), { recursive: true });
  await writeFile(path.join(source, 'file1'), 'one\n');
  await writeFile(path.join(source, 'dir', 'a.txt'), 'a\n');
  return { home, repository, config, source };
}

function json<T = any>(result: Result): T {
  assert.is(result.status, 0, `exit ${result.status}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

/** Exit `status` with `rast-backup: error CODE:` on one line of stderr, and no stack trace. */
function assertError(result: Result, status: number, code: string, what: string) {
  assert.is(result.status, status, `${what}: expected exit ${status}, got ${result.status}: ${result.stderr}`);
  assert.match(result.stderr, new RegExp(`^rast-backup: error ${code}: .+$`, 'm'), `${what}: ${result.stderr}`);
  assert.not.match(result.stderr, /^\s+at /m, `${what}: no stack trace`);
}

const ids = (config: string) => json<any[]>(cli(['list', '--json', '--config', config])).map((entry) => entry.id);

// ---

const empty = suite('cli: empty and blank arguments');

empty('an empty or blank backup id is a usage error in every command that takes one, and nothing is deleted', async () => {
  const { config, source, home } = await setup();
  const created = json(cli(['create', source, '--json', '--config', config]));
  for (const id of ['', ' ', '\t']) {
    const shown = JSON.stringify(id);
    assertError(cli(['delete', id, '--config', config]), 2, 'RB007', `delete ${shown}`);
    assertError(cli(['info', id, '--config', config]), 2, 'RB007', `info ${shown}`);
    assertError(cli(['ls', id, '--config', config]), 2, 'RB007', `ls ${shown}`);
    assertError(cli(['verify', id, '--config', config]), 2, 'RB007', `verify ${shown}`);
    assertError(cli(['restore', id, path.join(home, 'restored'), '--config', config]), 2, 'RB007', `restore ${shown}`);
    assertError(cli(['create', source, '--parent', id, '--config', config]), 2, 'RB007', `create --parent ${shown}`);
    // An empty path is not the current directory.
    assertError(cli(['create', id, '--config', config], { cwd: source }), 2, 'RB007', `create ${shown}`);
    assertError(
      cli(['restore', 'latest', id, '--config', config], { cwd: await temporaryDirectory() }),
      2,
      'RB007',
      `restore latest ${shown}`,
    );
  }
  assert.equal(ids(config), [created.id], 'the backup is still there, and no other was made');
  assert.equal(await readdir(home), ['config.toml', 'repository', 'source'], 'no destination was created');
});

empty('restore --include with an empty pattern is a usage error, among others too', async () => {
  const { config, source, home } = await setup();
  json(cli(['create', source, '--json', '--config', config]));
  const destination = path.join(home, 'restored');
  assertError(cli(['restore', 'latest', destination, '--include', '', '--config', config]), 2, 'RB007', '--include ""');
  assertError(cli(['restore', 'latest', destination, '--include', '/file1', '', '--config', config]), 2, 'RB007', '--include /file1 ""');
  assertError(
    cli(['restore', 'latest', destination, '--include', '/file1', '--include', '', '--config', config]),
    2,
    'RB007',
    '--include /file1 --include ""',
  );
  assert.equal(await readdir(home), ['config.toml', 'repository', 'source'], 'nothing was restored');
});

empty.run();

// ---

const shown = suite('cli: strings from a repository on a terminal');

shown('list and info show a name, tag or source with ESC or a newline as \\xHH, on one line; --json keeps them exact', async () => {
  const { config, home } = await setup();
  const source = path.join(home, 'so\x1b[2Jurce');
  await mkdir(source);
  await writeFile(path.join(source, 'f'), 'f');
  const name = 'x\x1b[31mRED';
  const tag = 'two\nlines';
  const created = json(cli(['create', source, '--name', name, '--tag', tag, '--json', '--config', config]));
  for (const args of [['list'], ['info', 'latest']]) {
    const result = cli([...args, '--config', config]);
    assert.is(result.status, 0, result.stderr);
    assert.not.ok(result.stdout.includes('\x1b'), `${args[0]}: no raw ESC: ${JSON.stringify(result.stdout)}`);
    assert.ok(result.stdout.includes('x\\x1b[31mRED'), `${args[0]}: the name as \\xHH: ${JSON.stringify(result.stdout)}`);
    assert.ok(result.stdout.includes('two\\x0alines'), `${args[0]}: the tag on one line: ${JSON.stringify(result.stdout)}`);
    assert.ok(result.stdout.includes('so\\x1b[2Jurce'), `${args[0]}: the source as \\xHH: ${JSON.stringify(result.stdout)}`);
    assert.not.ok(/^lines/m.test(result.stdout), `${args[0]}: no line starts with the tag's second line`);
  }
  const listed = json<any[]>(cli(['list', '--json', '--config', config]));
  assert.equal([listed[0].name, listed[0].tags, listed[0].source], [name, [tag], source]);
  const info = json(cli(['info', created.id, '--json', '--config', config]));
  assert.equal([info.name, info.tags], [name, [tag]]);
});

shown('warnings and errors show control characters from a repository or an argument as \\xHH', async () => {
  const { config, source, repository } = await setup();
  json(cli(['create', source, '--json', '--config', config]));
  await writeFile(path.join(repository, 'backups', 'x\x1b[2J.json'), 'not a manifest');
  const listed = cli(['list', '--config', config]);
  assert.is(listed.status, 0, listed.stderr);
  assert.match(listed.stderr, /manifest of backup x\\x1b\[2J in sink local .* is damaged/);
  const missing = cli(['info', 'no\x1b[2Jpe', '--config', config]);
  assertError(missing, 1, 'RB010', 'info of an unknown id');
  for (const result of [listed, missing]) assert.not.ok(result.stderr.includes('\x1b'), `no raw ESC: ${JSON.stringify(result.stderr)}`);
});

shown.run();

// ---

const secrets = suite('cli: config shows no credentials');

secrets('webhook header values and URL passwords (in settings and in sink locations) are masked in config and config --json', async () => {
  const { config } = await setup(
    [
      '[notify]',
      '[[notify.webhook]]',
      'url = "https://alice:hunter2-url@hooks.example.com/backup"',
      'headers = { Authorization = "Bearer tok-header-1", X-Api-Key = "key-header-2" }',
      '[[notify.webhook]]',
      'url = "https://hooks.example.com/plain"',
      '[s3]',
      'endpoint = "https://minio:s3pass-endpoint@s3.example.com:9000"',
      'bucket = "backups"',
      '',
    ].join('\n'),
  );
  for (const args of [['config'], ['config', '--json']]) {
    const result = cli([...args, '--config', config]);
    assert.is(result.status, 0, result.stderr);
    for (const secret of ['hunter2-url', 'tok-header-1', 'key-header-2', 's3pass-endpoint'])
      assert.not.ok(result.stdout.includes(secret), `${args.join(' ')} shows ${secret}: ${result.stdout}`);
    assert.ok(result.stdout.includes('hooks.example.com/backup'), `${args.join(' ')}: the URL is still shown`);
    assert.ok(result.stdout.includes('alice') && result.stdout.includes('minio'), `${args.join(' ')}: user names are still shown`);
    assert.ok(result.stdout.includes('Authorization'), `${args.join(' ')}: the header's name is still shown`);
    assert.ok(result.stdout.includes('https://hooks.example.com/plain'), `${args.join(' ')}: a URL without credentials is shown as it is`);
  }
});

secrets.run();

// ---

const destinations = suite('cli: restore destinations');

destinations(
  'a destination inside a sink or a snapshot store is refused and nothing is created; inside the source, a warning',
  async () => {
    const { config, source, home, repository } = await setup();
    const snapshots = path.join(home, 'snapshots');
    await mkdir(snapshots);
    await writeFile(config, `\n[btrfs]\nsnapshot_dir = ${JSON.stringify(snapshots)}\n`, { flag: 'a' });
    const created = json(cli(['create', source, '--json', '--config', config]));
    const link = path.join(home, 'link-to-repository');
    await symlink(repository, link);
    for (const destination of [
      path.join(repository, 'data', 'x'),
      path.join(repository, 'new'),
      path.join(link, 'new'),
      path.join(snapshots, 'x'),
    ]) {
      assertError(cli(['restore', 'latest', destination, '--config', config]), 1, 'RB009', `restore into ${destination}`);
    }
    assert.equal((await readdir(repository)).sort(), ['backups', 'data']);
    assert.equal(await readdir(path.join(repository, 'data')), [created.id], 'no leftover in the repository');
    assert.equal(await readdir(snapshots), []);
    assert.equal(ids(config), [created.id]);
    // Inside the backed-up source it works (a backup of / is restored below /), with a warning.
    const inside = cli(['restore', 'latest', path.join(source, 'restored'), '--config', config]);
    assert.is(inside.status, 0, inside.stderr);
    assert.match(inside.stderr, /^rast-backup: warning: destination .*restored is inside /m);
    assert.equal((await readdir(path.join(source, 'restored'))).sort(), ['dir', 'file1']);
  },
);

destinations.run();

// ---

const pluginCommands = suite('cli: plugin commands with a config error');

pluginCommands('a bad [retention] or [notify] value: prune, prune --help and notify print the config error (RB002, exit 2)', async () => {
  const retention = await setup('[retention]\ndaily = "seven"\n');
  for (const args of [['prune'], ['prune', '--help'], ['prune', '--dry-run']]) {
    assertError(cli([...args, '--config', retention.config]), 2, 'RB002', `${args.join(' ')} with a bad [retention]`);
  }
  const notify = await setup('[notify]\non = ["sometimes"]\n');
  assertError(cli(['notify', '--unit', 'x.service', '--config', notify.config]), 2, 'RB002', 'notify with a bad [notify]');
  assertError(cli(['list', '--config', notify.config]), 2, 'RB002', 'list with a bad [notify]');
});

pluginCommands.run();
