import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatTable } from './TextTable.js';

test('a table: header, dashes, cells padded to the widest of each column, two spaces apart', () => {
  const text = formatTable([
    { id: 'a', size: '10 B' },
    { id: 'bbb', size: '1 KiB' },
  ]);
  assert.is(text, ['id   size ', '---  -----', 'a    10 B ', 'bbb  1 KiB'].join('\n'));
});

test('a wide character takes two columns, a combining mark none', () => {
  const text = formatTable([
    { name: '日本', tag: 'x' },
    { name: 'e\u0301', tag: 'y' },
  ]);
  assert.is(text, ['name  tag', '----  ---', '日本  x  ', 'e\u0301     y  '].join('\n'));
});

test('no rows: no columns', () => {
  assert.is(formatTable([]), '\n');
});

test.run();
