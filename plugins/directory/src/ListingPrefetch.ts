import { comparePaths } from '@rast-backup/core';
import type { EntryReader, Listing } from './EntryReader.js';

/** A directory the walk will enter, and its listing once started. */
export interface PlannedDirectory {
  absolute: Buffer;
  /** Relative to the walk's root, an index path (`.` for the root). */
  relative: string;
  /** The filesystem it is on (its st_dev). */
  dev: bigint;
  listing?: Promise<Listing>;
  taken?: boolean;
  /** Its subdirectories that the walk will enter, by their place in its listing: planned as soon as the listing arrives. */
  below?: Map<number, PlannedDirectory>;
}

/** A subdirectory found in a listing, on the listed directory's filesystem: its place in the listing, and its paths. */
export interface Subdirectory {
  at: number;
  absolute: Buffer;
  relative: string;
}

/**
 * Lists directories ahead of a depth-first walk, at most `window` listings ahead, refilled an eighth of a window
 * at a time, in walk order (index order of their paths). With `below`, a listing's subdirectories are planned when it
 * arrives, not when the walk enters it, so the listings ahead run on however far behind the walk is.
 */
export class ListingPrefetch {
  /** Planned, not yet started: in reverse walk order, the next one last. */
  private readonly waiting: PlannedDirectory[] = [];
  private ahead = 0;

  constructor(
    private readonly reader: EntryReader,
    private readonly options: {
      details: boolean;
      window: number;
      contentBudget: number;
      /** The subdirectories of a listing that the walk will enter (others it plans itself, see plan); without it, the walk plans them all. */
      below?(directory: PlannedDirectory, listing: Listing): Subdirectory[];
    },
  ) {}

  /** Directories the walk will enter that no listing planned (the root, a mount point crossed). */
  plan(directories: Array<{ absolute: Buffer; relative: string; dev: bigint }>): PlannedDirectory[] {
    const planned = directories.map(({ absolute, relative, dev }): PlannedDirectory => ({ absolute, relative, dev }));
    for (const directory of planned) this.wait(directory);
    this.pump();
    return planned;
  }

  /** The listing of a planned directory, which the walk enters now. */
  take(planned: PlannedDirectory): Promise<Listing> {
    planned.taken = true;
    if (planned.listing) this.ahead--;
    const listing = planned.listing ?? this.start(planned);
    planned.listing = undefined;
    this.pump();
    return listing;
  }

  private wait(directory: PlannedDirectory): void {
    const { waiting } = this;
    let low = 0;
    let high = waiting.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (comparePaths(waiting[middle]!.relative, directory.relative) > 0) low = middle + 1;
      else high = middle;
    }
    waiting.splice(low, 0, directory);
  }

  private start(planned: PlannedDirectory): Promise<Listing> {
    const listing = this.reader
      .list(planned.absolute, planned.relative, this.options.details, this.options.contentBudget)
      .then((response) => {
        if (!this.options.below) return response;
        planned.below = new Map();
        if (!response.error) {
          for (const { at, absolute, relative } of this.options.below(planned, response)) {
            const subdirectory: PlannedDirectory = { absolute, relative, dev: planned.dev };
            planned.below.set(at, subdirectory);
            this.wait(subdirectory);
          }
          this.pump();
        }
        return response;
      });
    listing.catch(() => {});
    return listing;
  }

  /**
   * Starts listings up to the window once an eighth of it is taken: a thread gets them as one message (see
   * EntryReader). Refilled at half a window, the reader thread waited for requests a fifth of a cold incremental.
   */
  private pump(): void {
    if (this.ahead > this.options.window - Math.max(1, this.options.window >> 3)) return;
    while (this.ahead < this.options.window && this.waiting.length > 0) {
      const next = this.waiting.pop()!;
      if (next.taken) continue;
      next.listing = this.start(next);
      this.ahead++;
    }
  }
}
