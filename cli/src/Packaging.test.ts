import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { temporaryDirectory } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const INSTALL = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples', 'packaging', 'install-from-tree.sh');
// Packing and installing every package takes about a minute and needs the npm registry (or a warm npm
// cache) for third-party dependencies: it runs in CI, and locally with RAST_TEST_PACKAGING=1 (the PKGBUILD's
// check() does not run it).
const enabled = Boolean(process.env.RAST_TEST_PACKAGING || process.env.CI);

const packaging = suite('examples/packaging');

if (enabled) {
  packaging('an install from the tree (npm pack, then install) works: --version and a first backup', async () => {
    const prefix = await temporaryDirectory();
    const installed = spawnSync(INSTALL, [prefix], { encoding: 'utf8' });
    assert.is(installed.status, 0, installed.stderr);
    const binary = path.join(prefix, 'bin', 'rast-backup');
    const version = spawnSync(binary, ['--version'], { encoding: 'utf8' });
    assert.is(version.stdout.trim(), '0.1.0');
    const home = await temporaryDirectory();
    await mkdir(path.join(home, 'source'));
    await writeFile(path.join(home, 'source', 'file'), 'content\n');
    await writeFile(path.join(home, 'config.toml'), `[storage]\nlocal.path = ${JSON.stringify(path.join(home, 'repository'))}\n`);
    const created = spawnSync(binary, ['create', path.join(home, 'source'), '--json', '--config', path.join(home, 'config.toml')], {
      encoding: 'utf8',
      env: { ...process.env, RAST_BACKUP_CONFIG: '' },
    });
    assert.is(created.status, 0, created.stderr);
    assert.ok(JSON.parse(created.stdout).id);
    assert.is(spawnSync(binary, ['verify', 'latest', '--config', path.join(home, 'config.toml')]).status, 0);
  });
} else {
  process.stderr.write('skipping "an install from the tree": set RAST_TEST_PACKAGING=1 (or CI) to run it (about a minute)\n');
  packaging.skip('an install from the tree (npm pack, then install) works: --version and a first backup', () => {});
}

packaging.run();
