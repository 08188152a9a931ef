import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chooseLayering, MAX_INDEX_LAYERS } from './IndexLayering.js';

/**
 * The policy along a chain of a 1,000,000-entry index, each backup changing about 13,000 records: the records each
 * backup's run holds, as writeIndex would store them (a merge holds every record it takes in: no path repeats here).
 */
function chain(changes: readonly number[], entries = 1_000_000) {
  let runs = [entries];
  const written: number[] = [];
  for (const count of changes) {
    const layering = chooseLayering(count, runs, entries);
    const run = layering.alone ? entries : count + runs.slice(0, layering.merge).reduce((sum, records) => sum + records, 0);
    runs = layering.alone ? [run] : [run, ...runs.slice(layering.merge)];
    assert.ok(runs.length <= MAX_INDEX_LAYERS, `${runs.length} layers`);
    written.push(run);
  }
  const total = written.reduce((sum, records) => sum + records, 0);
  return { written, amplification: total / changes.reduce((sum, records) => sum + records, 0) };
}

test('changes each a little fewer than the last: a forced merge carries on, the newest run does not grow at every backup', () => {
  // The 1M lab's chain (2026-12-04): 13,665, 13,661, 13,640, 13,616 … records, so no change ever reached the run
  // above it; at 8 layers every backup then took in the newest run alone, which grew by one change each time
  // (13,608, 26,982, 40,141 … 179,087 records), 11.8 records stored per record changed over 60 backups.
  const { written, amplification } = chain(Array.from({ length: 60 }, (_, at) => 13_700 - 10 * at));
  assert.ok(amplification < 4, `${amplification.toFixed(2)} records stored per record changed`);
  const growing = written.filter((records, at) => at > 0 && records > written[at - 1]! && written[at - 1]! > 13_700);
  assert.ok(growing.length < 5, `runs that grew on a grown run: ${growing.length} (${written.join(' ')})`);
});

test('equal changes: a binary counter, about log2(backups) layers', () => {
  const { written, amplification } = chain(Array.from({ length: 31 }, () => 13_000));
  assert.equal(
    written.slice(0, 8).map((records) => records / 13_000),
    [1, 2, 1, 4, 1, 2, 1, 8],
  );
  assert.ok(amplification < 4, `${amplification.toFixed(2)}`);
});

test('the whole index alone once the changes since the bottom run pass half of it', () => {
  const { written } = chain(Array.from({ length: 40 }, () => 13_000));
  assert.is(written.filter((records) => records === 1_000_000).length, 1);
});

test.run();
