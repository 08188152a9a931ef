import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { isRoot, testNeeding } from './testing.js';

const cleanup = suite('temporaryDirectory: removed when the test process exits');

const child = `
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { temporaryDirectory } from ${JSON.stringify(new URL('./testing.js', import.meta.url).href)};
const home = await temporaryDirectory('rast-cleanup-');
writeFileSync(home + '/file', 'x');
if (process.argv[1] === 'mount') {
  for (const dir of [home + '/outer', home + '/outer/inner']) {
    mkdirSync(dir);
    const mounted = spawnSync('mount', ['-t', 'tmpfs', 'tmpfs', dir]);
    if (mounted.status !== 0) throw new Error('mount ' + dir + ': ' + mounted.stderr);
  }
  writeFileSync(home + '/outer/inner/file', 'x');
}
process.stdout.write(home);
`;

function run(mode: string): string {
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', child, mode], { encoding: 'utf8' });
  assert.is(result.status, 0, result.stderr);
  return result.stdout;
}

cleanup('a plain directory is gone after exit', () => {
  const home = run('plain');
  assert.ok(home.includes('rast-cleanup-'));
  assert.not.ok(existsSync(home), `${home} is left`);
});

testNeeding(cleanup, isRoot, 'root (mount)', 'a directory with nested mounts in it is unmounted and gone after exit', () => {
  const home = run('mount');
  assert.not.ok(readFileSync('/proc/self/mounts', 'utf8').includes(home), `a mount under ${home} is left`);
  assert.not.ok(existsSync(home), `${home} is left`);
});

cleanup.run();
