import type { StreamRange } from '@rast-backup/core';

/**
 * The spans that rebuild a clone's source as it was when the clone at byte `at` of backup `from`'s stream was
 * made: the source's spans of earlier backups, and those of `from` that start before `at`, cut there.
 */
export function sourceAt(source: StreamRange[], from: string, at: number): StreamRange[] {
  const spans: StreamRange[] = [];
  for (const range of source) {
    if (range.from !== from) spans.push(range);
    else if (range.start < at) spans.push(range.end > at ? { ...range, end: at } : range);
  }
  return spans;
}
