import type { EntryReader, ReadResponse } from './EntryReader.js';

/** A directory the walk will enter, and its listing once started. */
export interface PlannedDirectory {
  absolute: Buffer;
  /** Relative to the walk's root, an index path (`.` for the root). */
  relative: string;
  listing?: Promise<ReadResponse>;
  taken?: boolean;
}

/**
 * Lists directories ahead of a depth-first walk, in the order it enters them, at most `window` listings ahead
 * and refilled half a window at a time: the subdirectories of the directory just entered come before those
 * planned earlier (a stack).
 */
export class ListingPrefetch {
  private readonly stack: PlannedDirectory[] = [];
  private ahead = 0;

  constructor(
    private readonly reader: EntryReader,
    private readonly options: { details: boolean; window: number; contentBudget: number },
  ) {}

  /** The subdirectories of the directory being entered, in walk order. */
  plan(directories: Array<{ absolute: Buffer; relative: string }>): PlannedDirectory[] {
    const planned = directories.map(({ absolute, relative }): PlannedDirectory => ({ absolute, relative }));
    for (let at = planned.length - 1; at >= 0; at--) this.stack.push(planned[at]!);
    this.pump();
    return planned;
  }

  /** The listing of a planned directory, which the walk enters now. */
  take(planned: PlannedDirectory): Promise<ReadResponse> {
    planned.taken = true;
    if (planned.listing) this.ahead--;
    const listing = planned.listing ?? this.start(planned);
    planned.listing = undefined;
    this.pump();
    return listing;
  }

  private start(planned: PlannedDirectory): Promise<ReadResponse> {
    const listing = this.reader.list(planned.absolute, planned.relative, this.options.details, this.options.contentBudget);
    listing.catch(() => {});
    return listing;
  }

  /** Starts listings up to the window once half of it is taken: a thread gets them as one message (see EntryReader). */
  private pump(): void {
    if (this.ahead > this.options.window >> 1) return;
    while (this.ahead < this.options.window && this.stack.length > 0) {
      const next = this.stack.pop()!;
      if (next.taken) continue;
      next.listing = this.start(next);
      this.ahead++;
    }
  }
}
