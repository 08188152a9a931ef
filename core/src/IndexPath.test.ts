import { randomBytes } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { displayPath, fromDisplayPath, indexPath, isBinaryPath, pathBytes } from './IndexPath.js';

const paths = suite('index paths of names that are bytes');

paths('UTF-8 names are their own text; other bytes are escaped one by one and come back exactly', () => {
  assert.is(indexPath(Buffer.from('dir/é/💀')), 'dir/é/💀');
  assert.not.ok(isBinaryPath('dir/é/💀'));
  assert.is(indexPath(Buffer.from([0x6c, 0xe9, 0xff])), 'l\udce9\udcff');
  // Encoded surrogates, overlong forms and truncated sequences are not UTF-8.
  assert.is(indexPath(Buffer.from([0xed, 0xb2, 0x80, 0xc0, 0xaf, 0xf0, 0x9f, 0x92])), '\udced\udcb2\udc80\udcc0\udcaf\udcf0\udc9f\udc92');
  assert.is(displayPath('l\udce9\udcff/💀'), 'l\\xe9\\xff/💀');
  assert.is(JSON.parse(JSON.stringify('l\udce9\udcff')), 'l\udce9\udcff');
  assert.match(JSON.stringify('l\udce9'), /\\udce9/);
});

paths('control characters are shown as \\xHH too, so a name stays on one line, and every shown name reads back', () => {
  assert.is(displayPath('a\nb\tc\x7f\x00d/é'), 'a\\x0ab\\x09c\\x7f\\x00d/é');
  for (let round = 0; round < 5_000; round++) {
    const path = indexPath(randomBytes(round % 7));
    const shown = displayPath(path);
    assert.not.match(shown, /[\x00-\x1f\x7f]/);
    if (!path.includes('\\')) assert.is(fromDisplayPath(shown), path, shown);
  }
});

paths('any bytes survive the round trip, and different bytes give different paths', () => {
  const seen = new Map<string, string>();
  for (let round = 0; round < 20_000; round++) {
    const bytes = randomBytes(round % 9);
    const path = indexPath(bytes);
    assert.ok(pathBytes(path).equals(bytes), bytes.toString('hex'));
    assert.is(isBinaryPath(path), !Buffer.from(bytes.toString('utf8')).equals(bytes), bytes.toString('hex'));
    const before = seen.get(path);
    assert.ok(before === undefined || before === bytes.toString('hex'));
    seen.set(path, bytes.toString('hex'));
  }
});

paths.run();
