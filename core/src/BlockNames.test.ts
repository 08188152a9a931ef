import { createHash } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BlockNames, storeNames } from './BlockNames.js';

const names = suite('block name filters');

// Stored filters outlive the library version that wrote them: a change of its hashing would make readers skip
// blocks that hold the name. These bits are those the format documents (repository-format.md, `names`).
names('the stored bits are those of the documented hashing, whatever the library version', () => {
  assert.equal(storeNames(['etc/passwd', 'd000/e00/f0012345', 'a/b/c']), { k: 7, bits: 'ahA77g==' });
  const many = storeNames(Array.from({ length: 1000 }, (_, at) => `d/f${at}.conf`));
  assert.is(many.k, 7);
  assert.is(createHash('sha256').update(many.bits).digest('hex'), '5ed68f5245263f50f77bbcdfcec45f19f592c151073fcbc3fbce3664b518671f');
});

names('a stored filter holds every name it was made of, by last segment only', () => {
  const stored = storeNames(Array.from({ length: 1000 }, (_, at) => `d/f${at}.conf`));
  const read = new BlockNames(stored);
  for (let at = 0; at < 1000; at++) assert.ok(read.mayHold(`f${at}.conf`), `f${at}.conf`);
  let wrong = 0;
  for (let at = 0; at < 1000; at++) if (read.mayHold(`g${at}.conf`)) wrong++;
  assert.ok(wrong < 40, `${wrong} false positives of 1,000 at 1%`);
  assert.throws(() => new BlockNames({ k: 7, bits: 'abc' }), /not a whole number of 32-bit words/);
});

names.run();
