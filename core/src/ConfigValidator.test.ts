import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as t from 'typanion';
import { loadConfig, parseConfigText } from './ConfigLoader.js';
import { validateConfig } from './ConfigValidator.js';
import { ErrorCode, RastError } from './errors.js';
import { definePlugin } from './Plugin.js';
import type { ResolvedPlugin } from './PluginLoader.js';
import { temporaryDirectory } from './testing.js';

// Plugins shaped like the built-in ones: the validator only sees their configKey and options.
const resolved = (plugin: ResolvedPlugin['plugin']): ResolvedPlugin => ({ plugin, from: 'test', via: [], defaults: {} });
const local = resolved(
  definePlugin({
    name: 'local',
    version: '1',
    configKey: 'storage.local',
    activation: 'configured',
    options: { path: t.isString() },
    apply() {},
  }),
);
const zstd = resolved(
  definePlugin({
    name: 'zstd',
    version: '1',
    configKey: 'compression',
    activation: 'always',
    options: { level: t.isOptional(t.isNumber()) },
    apply() {},
  }),
);
const plugins = [local, zstd];

function expectInvalid(text: string, message: RegExp) {
  try {
    validateConfig(parseConfigText(text, '/etc/rast/backup/config.toml'), '/etc/rast/backup/config.toml', plugins);
    assert.unreachable('should be invalid');
  } catch (error) {
    assert.instance(error, RastError);
    assert.is((error as RastError).code, ErrorCode.CONFIG_INVALID);
    assert.is((error as RastError).exitCode, 2);
    assert.match((error as Error).message, message);
  }
}

// ---

const validation = suite('config validation');

validation("the seed's storage table loads as written", async () => {
  const seed = await readFile(path.resolve('..', 'shared', 'seed.md'), 'utf8').catch(
    () => '[storage]\n# Local storage\nlocal.path = "/var/lib/rast/backups"\n',
  );
  const storage = /\[storage\][\s\S]*?local\.path = "[^"]+"/.exec(seed)![0];
  const config = validateConfig(parseConfigText(storage, 'seed.toml'), 'seed.toml', plugins);
  assert.equal(
    config.active.map((plugin) => plugin.plugin.name),
    ['local', 'zstd'],
  );
  assert.equal(config.active[0]!.options, { path: '/var/lib/rast/backups' });
});

validation('a plugin activated by its section is left out when the section is absent', () => {
  const config = validateConfig(parseConfigText('[compression]\nlevel = 5\n', 'c.toml'), 'c.toml', plugins);
  assert.equal(
    config.active.map((plugin) => plugin.plugin.name),
    ['zstd'],
  );
});

validation('a wrong type names the file and the dotted key', () => {
  expectInvalid('[compression]\nlevel = "high"\n', /^\/etc\/rast\/backup\/config\.toml: compression\.level: Expected a number/);
  expectInvalid('[storage]\nlocal.path = 5\n', /config\.toml: storage\.local\.path: Expected a string/);
  expectInvalid('[backup]\npart_size_mib = 0\n', /backup\.part_size_mib: Expected to be in the \[1; 1024\] range/);
});

validation('an unknown key is an error with a suggestion', () => {
  expectInvalid('[compression]\nlevle = 5\n', /compression\.levle: unknown key \(did you mean level\?\)/);
  expectInvalid('[storage]\nlocal.pth = "/x"\n', /storage\.local\.pth: unknown key \(did you mean path\?\)/);
  expectInvalid('[storag]\nlocal.path = "/x"\n', /storag: unknown key: no loaded plugin reads it \(did you mean storage\?\)/);
});

validation('a missing required key is named', () => {
  expectInvalid('[storage.local]\n', /storage\.local\.path: missing \(required\)/);
});

validation.run();

// ---

const loader = suite('config loading');

loader('malformed TOML names the file and the line', () => {
  try {
    parseConfigText('[storage]\nlocal.path = = 3\n', '/tmp/bad.toml');
    assert.unreachable();
  } catch (error) {
    assert.is((error as RastError).code, ErrorCode.CONFIG_SYNTAX);
    assert.match((error as Error).message, /^\/tmp\/bad\.toml: malformed TOML: .*line 2/);
  }
});

loader('--config wins over RAST_BACKUP_CONFIG, which wins over a project file, which wins over the system file', async () => {
  const directory = await temporaryDirectory();
  for (const name of ['flag.toml', 'env.toml', 'rast-backup.config.toml', 'system.toml'])
    await writeFile(path.join(directory, name), `# ${name}\n`);
  const base = { cwd: directory, systemFile: path.join(directory, 'system.toml') };
  assert.is((await loadConfig({ ...base, flag: 'flag.toml', environment: 'env.toml' })).origin, 'flag');
  assert.is((await loadConfig({ ...base, environment: 'env.toml' })).origin, 'environment');
  assert.is((await loadConfig(base)).file, path.join(directory, 'rast-backup.config.toml'));
  const empty = await temporaryDirectory();
  assert.is((await loadConfig({ cwd: empty, systemFile: path.join(directory, 'system.toml') })).origin, 'system');
  const fallback = await loadConfig({ cwd: empty, systemFile: path.join(empty, 'none.toml') });
  assert.is(fallback.origin, 'default');
  assert.ok((fallback.data.storage as { local: { path: string } }).local.path.length > 0);
});

loader('a missing --config file is an error, not a fallback', async () => {
  try {
    await loadConfig({ cwd: '/', systemFile: '/nonexistent', flag: '/nonexistent/rast.toml' });
    assert.unreachable();
  } catch (error) {
    assert.is((error as RastError).code, ErrorCode.CONFIG_NOT_FOUND);
    assert.match((error as Error).message, /\/nonexistent\/rast\.toml \(given by --config\): no such file/);
  }
});

loader.run();
