import type { SinkObject } from '@rast-backup/core';

/** Keys one listing page holds at most (S3's limit, and most compatible stores'). */
const PAGE_KEYS = 1000;
/** Keys asked for beyond those known in a range of a split listing, so that a few new ones still fit its one page. */
const RANGE_SLACK = 24;

/** One ListObjectsV2 request, as RangeListing asks it (keys relative to the sink's prefix). */
export interface PageRequest {
  startAfter?: string;
  continuationToken?: string;
  maxKeys: number;
}

/** One ListObjectsV2 page: keys relative to the sink's prefix. */
export interface Page {
  objects: SinkObject[];
  nextContinuationToken?: string;
}

/**
 * The objects under a prefix in key order, listed in ranges asked for at once (`page` limits how many run at
 * once), split at some of `known` (keys seen before, in the store's order: UTF-8 bytes): each range holds the
 * known keys one page can take with room to spare for new ones, and a last one reaches past the last known key.
 * A range reads on past its page when more keys are new in it, and stops at its last known key, so every key is
 * listed once. With nothing known, one page after another.
 */
export async function listInRanges(
  page: (request: PageRequest) => Promise<Page>,
  known: readonly string[],
  ranges: number,
): Promise<SinkObject[][]> {
  const size = Math.max(1, Math.min(PAGE_KEYS - RANGE_SLACK, Math.ceil(known.length / ranges)));
  const listed: Array<Promise<SinkObject[]>> = [];
  for (let start = 0; start < known.length; start += size) {
    const end = Math.min(start + size, known.length);
    listed.push(listRange(page, known[start - 1], known[end - 1], end - start));
  }
  listed.push(listRange(page, known.at(-1), undefined, known.length === 0 ? PAGE_KEYS : 0));
  return Promise.all(listed);
}

/** The objects after key `after` up to key `last`, of which `expected` were known. */
async function listRange(
  page: (request: PageRequest) => Promise<Page>,
  after: string | undefined,
  last: string | undefined,
  expected: number,
): Promise<SinkObject[]> {
  const start = after === undefined ? undefined : Buffer.from(after);
  const end = last === undefined ? undefined : Buffer.from(last);
  const found: SinkObject[] = [];
  let continuationToken: string | undefined;
  do {
    const answer = await page(
      continuationToken === undefined
        ? { startAfter: after, maxKeys: Math.min(PAGE_KEYS, expected + RANGE_SLACK) }
        : { continuationToken, maxKeys: PAGE_KEYS },
    );
    for (const object of answer.objects) {
      // A store that ignores StartAfter answers from the prefix's start: those keys are another range's.
      const bytes = Buffer.from(object.key);
      if (start && Buffer.compare(bytes, start) <= 0) continue;
      const past = end ? Buffer.compare(bytes, end) : -1;
      if (past > 0) return found;
      found.push(object);
      if (past === 0) return found;
    }
    continuationToken = answer.nextContinuationToken;
  } while (continuationToken);
  return found;
}
