import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ErrorCode, RastError } from './errors.js';
import { definePlugin, definePreset } from './Plugin.js';
import { candidateNames, resolvePlugins } from './PluginLoader.js';
import { temporaryDirectory } from './testing.js';

const plugin = (name: string) => definePlugin({ name, version: '1.0.0', apply() {} });
const names = (resolved: Array<{ plugin: { name: string } }>) => resolved.map((entry) => entry.plugin.name);

async function expectCode(promise: Promise<unknown>, code: ErrorCode, message: RegExp) {
  try {
    await promise;
    assert.unreachable('should have failed');
  } catch (error) {
    assert.instance(error, RastError);
    assert.is((error as RastError).code, code);
    assert.match((error as Error).message, message);
  }
}

// ---

const presets = suite('presets');
const options = { resolveFrom: [process.cwd()], relativeTo: process.cwd() };

presets('are flattened depth-first in the order written', async () => {
  const inner = definePreset({ name: 'inner', plugins: [plugin('b'), plugin('c')] });
  const outer = definePreset({ name: 'outer', plugins: [plugin('a'), inner, plugin('d')] });
  const resolved = await resolvePlugins([outer, plugin('e')], options);
  assert.equal(names(resolved), ['a', 'b', 'c', 'd', 'e']);
  assert.equal(resolved[1]!.via, ['outer', 'inner']);
});

presets('keep one entry for a plugin named twice, with merged options (the later wins)', async () => {
  const zstd = plugin('zstd');
  const base = definePreset({ name: 'base', plugins: [[zstd, { level: 3, algorithm: 'zstd' }], plugin('local')] });
  const distro = definePreset({ name: 'distro', plugins: [base, [zstd, { level: 9 }]] });
  const resolved = await resolvePlugins([distro], options);
  assert.equal(names(resolved), ['zstd', 'local']);
  assert.equal(resolved[0]!.defaults, { level: 9, algorithm: 'zstd' });
});

presets('an empty preset is an error', async () => {
  await expectCode(
    resolvePlugins([definePreset({ name: 'hollow', plugins: [] })], options),
    ErrorCode.PLUGIN_INVALID,
    /preset hollow is empty/,
  );
});

presets.run();

// ---

const loading = suite('loading by name and path');

loading('short names try rast-backup-plugin-<name>, then the scoped built-in, then the name itself', () => {
  assert.equal(candidateNames('foo', 'plugin'), ['rast-backup-plugin-foo', '@rast-backup/plugin-foo', 'foo']);
  assert.equal(candidateNames('@acme/rast-thing', 'plugin'), ['@acme/rast-thing']);
  assert.equal(candidateNames('rast-backup-preset-astos', 'preset'), ['rast-backup-preset-astos']);
});

loading('resolves a short name from node_modules beside the config, and a relative path', async () => {
  const directory = await temporaryDirectory();
  const packageDirectory = path.join(directory, 'node_modules', 'rast-backup-plugin-hello');
  await mkdir(packageDirectory, { recursive: true });
  await writeFile(
    path.join(packageDirectory, 'package.json'),
    JSON.stringify({ name: 'rast-backup-plugin-hello', type: 'module', main: 'index.js' }),
  );
  await writeFile(
    path.join(packageDirectory, 'index.js'),
    "export default { name: 'rast-backup-plugin-hello', version: '2.0.0', apply() {} };\n",
  );
  await writeFile(path.join(directory, 'local.mjs'), "export default { name: 'local-file-plugin', version: '0.0.1', apply() {} };\n");
  const resolved = await resolvePlugins(['hello', './local.mjs'], { resolveFrom: [directory], relativeTo: directory });
  assert.equal(names(resolved), ['rast-backup-plugin-hello', 'local-file-plugin']);
  assert.match(resolved[0]!.from, /node_modules\/rast-backup-plugin-hello\/index\.js$/);
});

loading('an unknown plugin names every name looked for and where', async () => {
  const directory = await temporaryDirectory();
  await expectCode(
    resolvePlugins(['nosuch'], { resolveFrom: [directory], relativeTo: directory }),
    ErrorCode.PLUGIN_NOT_FOUND,
    new RegExp(`plugin nosuch not found: looked for rast-backup-plugin-nosuch, @rast-backup/plugin-nosuch, nosuch from ${directory}`),
  );
  await expectCode(
    resolvePlugins(['./missing.mjs'], { resolveFrom: [directory], relativeTo: directory }),
    ErrorCode.PLUGIN_NOT_FOUND,
    /no file .*missing\.mjs/,
  );
});

loading('a module that is not a plugin is refused with the reason', async () => {
  const directory = await temporaryDirectory();
  await writeFile(path.join(directory, 'bad.mjs'), 'export default { hello: 1 };\n');
  await expectCode(
    resolvePlugins(['./bad.mjs'], { resolveFrom: [directory], relativeTo: directory }),
    ErrorCode.PLUGIN_INVALID,
    /not a rast-backup plugin or preset/,
  );
});

loading.run();
