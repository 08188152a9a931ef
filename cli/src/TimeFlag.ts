import { ErrorCode, RastError } from '@rast-backup/core';

const UNITS: Record<string, number> = { h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/**
 * A point in time as a flag gives it: an ISO-8601 date or time (`2026-12-01`, `2026-12-01T03:00:00Z`; a date
 * alone is midnight UTC), or an age before now (`36h`, `7d`, `2w`).
 */
export function parseTime(flag: string, value: string, now = Date.now()): Date {
  const age = /^(\d+)([hdw])$/.exec(value);
  if (age) return new Date(now - Number(age[1]) * UNITS[age[2]!]!);
  const time = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(time))
    throw new RastError(
      ErrorCode.USAGE,
      `${flag} ${JSON.stringify(value)}: not a time; give an ISO-8601 date or time (2026-12-01, 2026-12-01T03:00:00Z) or an age (36h, 7d, 2w)`,
    );
  return new Date(time);
}
