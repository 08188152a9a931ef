import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { includeMatcher } from './IncludeMatcher.js';

test('the subtrees read are the patterns’ literal leading names, none inside another, in index order', () => {
  assert.equal(includeMatcher([]).roots, ['.']);
  assert.equal(includeMatcher(['/etc/fstab']).roots, ['etc/fstab']);
  assert.equal(includeMatcher(['home/alice/*', 'etc/ssh/', 'home/alice/notes', 'home']).roots, ['etc/ssh', 'home']);
  assert.equal(includeMatcher(['a/b*/c', 'x/{y,z}', 'q/[ab]', 'r/?']).roots, ['a', 'q', 'r', 'x']);
  assert.equal(includeMatcher(['*.conf', 'etc']).roots, ['.']);
  assert.equal(includeMatcher(['**/x']).roots, ['.']);
  // `a.b` and `a/b`: `/` sorts first in index order.
  assert.equal(includeMatcher(['a.b/c', 'a/b']).roots, ['a/b', 'a.b/c']);
});

test('every path a pattern matches lies in one of its subtrees', () => {
  const patterns = ['docs/*.txt', 'src/**/index.ts', 'lat-\\xe9*', 'a/b'];
  const matcher = includeMatcher(patterns);
  const paths = ['docs/readme.txt', 'docs/deep/x.txt', 'src/a/b/index.ts', 'lat-\udce9\udcff', 'a/b/c', 'a/bc', 'other'];
  for (const path of paths) {
    if (!matcher.matches(path)) continue;
    assert.ok(
      matcher.roots.some((root) => root === '.' || path === root || path.startsWith(`${root}/`)),
      `${path} is outside ${matcher.roots.join(', ')}`,
    );
  }
  assert.equal(
    paths.filter((path) => matcher.matches(path)),
    ['docs/readme.txt', 'src/a/b/index.ts', 'lat-\udce9\udcff', 'a/b/c'],
  );
});

test('a pattern inside another pattern’s subtree is used too', () => {
  const matcher = includeMatcher(['a', 'a/b']);
  assert.ok(matcher.matches('a/b/c'));
  assert.equal(matcher.unused(), []);
});

test.run();
