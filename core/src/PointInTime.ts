import { badPointInTime } from './diagnostics/index.js';

/** What `--since` and `--until` accept, for help texts and error messages. */
export const POINT_IN_TIME_FORMS =
  'a date YYYY-MM-DD (the whole day, local time), a time YYYY-MM-DDTHH:MM[:SS] (local time, or ending in Z or ±HH:MM), or an age: N followed by h (hours), d (days) or w (weeks) ago, e.g. 7d';

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$/;
const AGE = /^(\d+)([hdw])$/;
const HOURS = { h: 1, d: 24, w: 24 * 7 } as const;

/**
 * A moment named on the command line (`--since 7d`, `--until 2026-03-01`). A date alone is a whole day in the
 * local time zone: its start for `edge: 'start'` (since), the last millisecond of it for `edge: 'end'` (until).
 */
export function parsePointInTime(value: string, option: string, edge: 'start' | 'end', now: Date = new Date()): Date {
  const invalid = (why: string) => badPointInTime(option, value, why, POINT_IN_TIME_FORMS);
  const age = AGE.exec(value);
  if (age) return new Date(now.getTime() - Number(age[1]) * HOURS[age[2] as keyof typeof HOURS] * 3_600_000);

  const date = DATE.exec(value);
  if (date) {
    const [year, month, day] = date.slice(1).map(Number) as [number, number, number];
    const start = new Date(year, month - 1, day);
    if (start.getFullYear() !== year || start.getMonth() !== month - 1 || start.getDate() !== day) throw invalid('no such day');
    return edge === 'start' ? start : new Date(new Date(year, month - 1, day + 1).getTime() - 1);
  }

  const dateTime = DATE_TIME.exec(value);
  if (!dateTime) throw invalid('not a date, time or age');
  const [year, month, day, hour, minute, second] = dateTime.slice(1, 7).map((part) => Number(part ?? 0)) as number[] as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const zone = dateTime[7];
  if (hour > 23 || minute > 59 || second > 59) throw invalid('no such time');
  const moment = zone ? new Date(Date.parse(value.replace(' ', 'T'))) : new Date(year, month - 1, day, hour, minute, second);
  const check = zone ? new Date(Date.UTC(year, month - 1, day)) : moment;
  const [checkYear, checkMonth, checkDay] = zone
    ? [check.getUTCFullYear(), check.getUTCMonth(), check.getUTCDate()]
    : [check.getFullYear(), check.getMonth(), check.getDate()];
  if (Number.isNaN(moment.getTime())) throw invalid('no such time zone');
  if (checkYear !== year || checkMonth !== month - 1 || checkDay !== day) throw invalid('no such day');
  return moment;
}
