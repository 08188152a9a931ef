import { mkdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { isWithin, realLocation } from './PathContainment.js';
import { temporaryDirectory } from './testing.js';

const containment = suite('PathContainment');

containment('a path is within itself and its ancestors, not within a sibling that shares its prefix', () => {
  assert.ok(isWithin('/srv/repo', '/srv/repo'));
  assert.ok(isWithin('/srv/repo', '/srv/repo/data/x'));
  assert.ok(isWithin('/srv/repo', '/srv/repo/..x'), 'a name starting with two dots is inside');
  assert.ok(isWithin('/', '/anything'));
  assert.not.ok(isWithin('/srv/repo', '/srv/repository'));
  assert.not.ok(isWithin('/srv/repo', '/srv'));
});

containment('the real location of a path that does not exist yet goes through the symlinks of its ancestors', async () => {
  const home = await temporaryDirectory();
  await mkdir(path.join(home, 'real'));
  await symlink(path.join(home, 'real'), path.join(home, 'link'));
  const real = await realLocation(home);
  assert.is(await realLocation(path.join(home, 'link', 'new', 'deeper')), path.join(real, 'real', 'new', 'deeper'));
  assert.is(await realLocation('/nonexistent-rast-test/x'), '/nonexistent-rast-test/x');
});

containment.run();
