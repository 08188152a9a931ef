import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeLines } from './IndexRun.js';

const lines = suite('an index block encoded from its lines');

const joined = (written: string[]): Buffer => Buffer.from(written.join('\n') + '\n');

lines('is the UTF-8 of the lines joined by line breaks, whatever they hold', () => {
  const written = ['{"path":"a"}', '{"path":"é/日本/💀"}', '{"path":"l\\udce9"}', 'a lone \udce9 surrogate', '', '{"path":"z"}'];
  assert.equal(encodeLines(written), joined(written));
  assert.equal(encodeLines([]), joined([]));
  const bytes = written.map((line) => Buffer.from(line));
  assert.equal(encodeLines([bytes[0], written[1], bytes[2], written[3]]), joined(written.slice(0, 4)));
});

lines('takes lines and blocks larger than its scratch memory, and the bytes of one block outlive the next', () => {
  const long = ['x'.repeat(3 * 1024 * 1024), '日'.repeat(700 * 1024), '{"path":"after"}'];
  const first = encodeLines(long);
  const many = Array.from({ length: 40_000 }, (_, n) => `{"path":"a${n}/é${n}","size":${n}}`);
  const second = encodeLines(many);
  assert.equal(first, joined(long));
  assert.equal(second, joined(many));
  assert.equal(encodeLines(['{"path":"b"}']), joined(['{"path":"b"}']));
  assert.equal(second, joined(many));
});

lines.run();
