import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parsePointInTime } from './PointInTime.js';
import type { RastError } from './errors.js';

const now = new Date('2026-03-15T12:00:00.000Z');
const at = (value: string, edge: 'start' | 'end' = 'start') => parsePointInTime(value, '--since', edge, now);

// ---

const points = suite('parsePointInTime: dates, times and ages');

points('an age counts back from now', () => {
  assert.is(at('12h').toISOString(), '2026-03-15T00:00:00.000Z');
  assert.is(at('7d').toISOString(), '2026-03-08T12:00:00.000Z');
  assert.is(at('2w').toISOString(), '2026-03-01T12:00:00.000Z');
  assert.is(at('0d').toISOString(), now.toISOString());
});

points('a date is a whole local day: its first moment to start, its last to end', () => {
  assert.equal(at('2026-03-01'), new Date(2026, 2, 1));
  assert.equal(at('2026-03-01', 'end'), new Date(new Date(2026, 2, 2).getTime() - 1));
  assert.equal(at('2024-02-29'), new Date(2024, 1, 29), 'a leap day');
});

points('a time is local, or in the zone it names', () => {
  assert.equal(at('2026-03-01T10:30'), new Date(2026, 2, 1, 10, 30));
  assert.equal(at('2026-03-01 10:30:15', 'end'), new Date(2026, 2, 1, 10, 30, 15));
  assert.is(at('2026-03-01T10:30:00Z').toISOString(), '2026-03-01T10:30:00.000Z');
  assert.is(at('2026-03-01T10:30+02:00').toISOString(), '2026-03-01T08:30:00.000Z');
});

points('anything else is a USAGE error naming the option and the value', () => {
  for (const [value, why] of [
    ['yesterday', 'not a date, time or age'],
    ['7', 'not a date, time or age'],
    ['7y', 'not a date, time or age'],
    ['1.5d', 'not a date, time or age'],
    ['2026-02-29', 'no such day'],
    ['2026-04-31T10:00Z', 'no such day'],
    ['2026-03-01T10:60', 'no such time'],
    ['2026-03-01T10:00+25:00', 'no such time zone'],
  ]) {
    try {
      at(value!);
      assert.unreachable(value);
    } catch (error) {
      assert.is((error as RastError).code, 'RB007', value);
      assert.ok((error as Error).message.startsWith(`--since ${JSON.stringify(value)}: ${why}; give a date`), (error as Error).message);
    }
  }
});

points.run();
