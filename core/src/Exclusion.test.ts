import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { excludePatternProblem, Exclusion } from './Exclusion.js';

const exclusion = suite('exclude patterns');

exclusion('match paths relative to the source, as --include patterns do; the root is never excluded', () => {
  const rules = new Exclusion(['/cache', '**/*.o', 'home/*/.cache', 'lat-\\xe9']);
  const excluded = ['cache', 'a.o', 'src/deep/b.o', 'home/alice/.cache', `lat-${String.fromCharCode(0xdc00 + 0xe9)}`];
  const kept = ['.', 'cache2', 'src/cache', 'a.c', 'home/.cache', 'home/alice/x/.cache'];
  for (const path of excluded) assert.ok(rules.excludes(path), path);
  for (const path of kept) assert.not.ok(rules.excludes(path), path);
  assert.is(rules.excludedEntries, excluded.length);
});

exclusion('remembers which patterns matched nothing, whether matched here or counted from elsewhere', () => {
  const rules = new Exclusion(['a', 'b', 'c']);
  rules.excludes('a');
  rules.markUsed(2, 5);
  assert.equal(rules.unused(), ['b']);
  assert.is(rules.excludedEntries, 6);
  assert.ok(new Exclusion([]).empty);
});

exclusion('refuses what cannot be a pattern, saying why', () => {
  const problems: Array<[string, RegExp]> = [
    ['', /empty/],
    ['   ', /empty/],
    ['/', /the source itself/],
    ['./', /the source itself/],
    ['../etc', /\.\./],
    ['a/../../b', /\.\./],
    ['a\0b', /NUL/],
  ];
  for (const [pattern, problem] of problems) assert.match(excludePatternProblem(pattern) ?? '', problem, JSON.stringify(pattern));
  for (const pattern of ['cache', '/cache/', '**/*.log', 'a..b', '[', '.hidden'])
    assert.is(excludePatternProblem(pattern), undefined, pattern);
});

exclusion.run();
