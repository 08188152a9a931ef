import { randomBytes } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { displayPath, indexPath, isBinaryPath, pathBytes } from './IndexPath.js';

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
