import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { indexPath } from './IndexPath.js';
import { PathPattern } from './PathPattern.js';

const patterns = suite('path patterns');

patterns('the part of the tree a pattern can match: one path, a literal directory, or everything', () => {
  const cases: Array<[string, string | undefined, string]> = [
    ['/etc/fstab', 'etc/fstab', 'etc'],
    ['file1', 'file1', '.'],
    ['/etc/ssh/*.conf', undefined, 'etc/ssh'],
    ['/etc/**', undefined, 'etc'],
    ['etc/ss?/x', undefined, 'etc'],
    ['**/id_rsa', undefined, '.'],
    ['/', '.', '.'],
    ['a/\\*b/c', undefined, 'a'],
  ];
  for (const [pattern, literal, within] of cases) {
    const compiled = new PathPattern(pattern);
    assert.equal([compiled.literal, compiled.within], [literal, within], pattern);
  }
});

patterns('matches entries as --include does, dotfiles included, but not what lies below a match', () => {
  const conf = new PathPattern('/etc/**/*.conf');
  assert.ok(conf.matches('etc/a.conf') && conf.matches('etc/x/.hidden.conf'));
  assert.not.ok(conf.matches('usr/etc/a.conf'));
  const ssh = new PathPattern('/etc/ssh');
  assert.ok(ssh.matches('etc/ssh'));
  assert.not.ok(ssh.matches('etc/ssh/sshd_config'));
  // A byte that is not UTF-8, as listed (\xHH) and as the index holds it (see IndexPath).
  const binary = indexPath(Buffer.from('lat-\xe9', 'latin1'));
  assert.is(new PathPattern('lat-\\xe9').literal, binary);
  assert.ok(new PathPattern('lat-?').matches(binary));
});

patterns('a clue: text every match holds, for patterns of names, `*`, `?` and `**` only', () => {
  const cases: Array<[string, string | undefined]> = [
    ['**/id_rsa', 'id_rsa'],
    ['/etc/ssh/*.conf', '.conf'],
    ['etc/ss?/x', 'etc'],
    ['d054/e32/*', 'd054'],
    ['**', undefined],
    ['a/\\*b/c', undefined],
    ['**/{a,b}.txt', undefined],
    ['**/[ab].txt', undefined],
    ['**/café', undefined],
    ['**/say"hi"', undefined],
  ];
  for (const [pattern, clue] of cases) assert.is(new PathPattern(pattern).clue, clue, pattern);
  const paths = ['etc/ssh/a.conf', 'etc/ssh/.conf', 'x/id_rsa', 'id_rsa', 'etc/ssh/sub/b.conf', 'etcx/ssh', 'd054/e32/f1', 'a/.conf/b'];
  for (const pattern of ['**/id_rsa', '/etc/ssh/*.conf', 'etc/ss?/*', '**/*.conf', 'd054/**', '*/id_rsa']) {
    const compiled = new PathPattern(pattern);
    for (const path of paths) if (compiled.matches(path)) assert.ok(path.includes(compiled.clue!), `${pattern} matches ${path}`);
  }
});

patterns('a name: the last segment of every match, when the pattern ends in a literal name', () => {
  const cases: Array<[string, string | undefined]> = [
    ['**/passwd', 'passwd'],
    ['etc/**/f0012345', 'f0012345'],
    ['/etc/passwd/', 'passwd'],
    ['**/café', 'café'],
    ['d054/e32/*', undefined],
    ['**/*.conf', undefined],
    ['**/a?', undefined],
    ['**/{a,b}', undefined],
    ['**/[ab]', undefined],
    ['**/+(a)', undefined],
    ['**/!a', undefined],
    ['!**/a', undefined],
    ['a/\\*', undefined],
    ['**', undefined],
    ['.', undefined],
  ];
  for (const [pattern, name] of cases) assert.is(new PathPattern(pattern).name, name, pattern);
  const paths = ['passwd', 'etc/passwd', 'etc/x/passwd', 'etc/passwd/x', 'etc/a/b/f0012345', 'café', 'x/café'];
  for (const pattern of ['**/passwd', 'etc/**/f0012345', '/etc/passwd/', '**/café', 'etc/*/passwd']) {
    const compiled = new PathPattern(pattern);
    for (const path of paths)
      if (compiled.matches(path)) assert.is(path.slice(path.lastIndexOf('/') + 1), compiled.name, `${pattern} matches ${path}`);
  }
});

patterns.run();
