import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { packageIdentity } from './PackageIdentity.js';

const identity = suite('packageIdentity: a module names its package from package.json');

identity('the nearest package.json above the module gives the name and version', () => {
  const own = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  assert.equal(packageIdentity(import.meta.url), { name: '@rast-backup/core', version: own.version });
});

identity('a module with no package.json above it is an error', () => {
  assert.throws(() => packageIdentity('file:///no-such-dir/module.js'), /no package\.json above/);
});

identity.run();
