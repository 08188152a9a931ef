import { closeSync, mkdtempSync, openSync, readSync, rmSync, write, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A page's memory: a typed array of the store's page length. */
export type PageArray = Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array;
type PageKind = new (length: number) => PageArray;

/** What owns pages: it is told when one of its pages leaves memory. */
export interface PageOwner {
  evicted(index: number): void;
}

export interface Page {
  owner: PageOwner;
  index: number;
  kind: PageKind;
  bytes: number;
  /** Its memory while resident, and while it is being written out. */
  array?: PageArray;
  /** Where the page lies in the file once written there, or -1. */
  offset: number;
  resident: boolean;
  /** Changed since its last write began (its owner says so): the copy in the file, if any, is stale. */
  dirty: boolean;
  /** Its writes to the file, one after another; undefined when none is under way. */
  writing?: Promise<void>;
}

/** Bytes of evicted pages being written at once (beyond the budget) by default. */
const WRITING_BYTES = 8 * 1024 * 1024;

const closer = new FinalizationRegistry<number>((fd) => closeSync(fd));

/**
 * Pages of typed arrays (columns' chunks) kept in memory up to a budget of bytes; beyond it, the pages that
 * came in first are written to a temporary file (removed as soon as it is opened) and read back when asked
 * for. An evicted page is written asynchronously (its memory kept until the write ends, and taken back if it
 * is asked for meanwhile), up to a limit of bytes at once; a page unchanged since it was last written is not
 * written again. Reads are synchronous: the pages are asked for from synchronous code, and come from the page
 * cache mostly.
 */
export class PageStore {
  /** Items per page: 2^shift. */
  readonly pageItems: number;
  private readonly resident: Page[] = [];
  /** The first page of `resident` still in memory (pages before it have left, in order). */
  private head = 0;
  private residentBytes = 0;
  private writingBytes = 0;
  /** Memory of pages that left, given to the next page of its kind. */
  private readonly spare = new Map<PageKind, PageArray>();
  private fd = -1;
  private fileEnd = 0;
  private closing = false;
  /** Writes under way. */
  private pending = 0;
  /** A write that failed: thrown at the next call. */
  private failure?: Error;
  /** Pages read back from the file, written to it, and evicted without a write (unchanged): for tests and measurements. */
  faults = 0;
  writes = 0;
  unchanged = 0;

  constructor(
    private readonly budget = Infinity,
    readonly shift = 16,
    /** Bytes of evicted pages being written at once; past it, a page is written synchronously. */
    private readonly writingLimit = WRITING_BYTES,
  ) {
    this.pageItems = 1 << shift;
  }

  /** Whether item `id` is the first of a page: the columns are extended for it. */
  startsPage(id: number): boolean {
    return (id & (this.pageItems - 1)) === 0;
  }

  /** A new page of zeros: its owner reads it at the array returned until it is evicted. */
  admit<T extends PageArray>(owner: PageOwner, index: number, kind: new (length: number) => T): [Page, T] {
    this.check();
    const array = this.memory(kind).fill(0) as T;
    const page: Page = { owner, index, kind, bytes: array.byteLength, array, offset: -1, resident: true, dirty: true };
    this.enter(page);
    return [page, array];
  }

  /** A page's memory again: taken back while its write is under way, else read back from the file. */
  load(page: Page): PageArray {
    this.check();
    if (page.resident) return page.array!;
    this.faults++;
    if (page.array) {
      this.writingBytes -= page.bytes;
    } else {
      page.array = this.memory(page.kind);
      const bytes = new Uint8Array(page.array.buffer, page.array.byteOffset, page.array.byteLength);
      for (let done = 0; done < bytes.length;) {
        const read = readSync(this.fd, bytes, done, bytes.length - done, page.offset + done);
        if (read === 0) throw new Error('the page file of the file index is cut short');
        done += read;
      }
    }
    page.resident = true;
    this.enter(page);
    return page.array;
  }

  private check(): void {
    if (this.failure) throw this.failure;
  }

  private memory(kind: PageKind): PageArray {
    const spare = this.spare.get(kind);
    if (!spare) return new kind(this.pageItems);
    this.spare.delete(kind);
    return spare;
  }

  private enter(page: Page): void {
    this.resident.push(page);
    this.residentBytes += page.bytes;
    while (this.residentBytes > this.budget && this.head < this.resident.length - 1) this.evict(this.resident[this.head++]!);
    if (this.head > 1024 && this.head * 2 > this.resident.length) {
      this.resident.splice(0, this.head);
      this.head = 0;
    }
  }

  private evict(page: Page): void {
    page.resident = false;
    this.residentBytes -= page.bytes;
    page.owner.evicted(page.index);
    if (!page.dirty && page.offset >= 0) this.unchanged++;
    else if (page.writing || this.writingBytes + page.bytes <= this.writingLimit) this.writeLater(page);
    else this.writeNow(page);
    if (page.writing) this.writingBytes += page.bytes;
    else this.release(page);
  }

  /** Gives an evicted page's memory back once no write of it is under way. */
  private release(page: Page): void {
    this.spare.set(page.kind, page.array!);
    page.array = undefined;
  }

  private place(page: Page): Uint8Array {
    if (page.offset < 0) {
      page.offset = this.fileEnd;
      this.fileEnd += page.bytes;
    }
    page.dirty = false;
    this.writes++;
    const array = page.array!;
    return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
  }

  private writeNow(page: Page): void {
    const bytes = this.place(page);
    const fd = this.file();
    for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done, bytes.length - done, page.offset + done);
  }

  /** Writes the page after its write under way, if any: two writes of one page never overlap. */
  private writeLater(page: Page): void {
    const fd = this.file();
    this.pending++;
    const writing: Promise<void> = (page.writing ?? Promise.resolve())
      .then(() => {
        // A page taken back and changed meanwhile is written by its next eviction instead.
        if (page.resident && page.dirty) return;
        const bytes = this.place(page);
        return writeAll(fd, bytes, page.offset);
      })
      .then(
        () => {
          if (page.writing === writing) {
            page.writing = undefined;
            if (!page.resident) {
              this.writingBytes -= page.bytes;
              this.release(page);
            }
          }
          this.settled();
        },
        (error: Error) => {
          this.failure ??= new Error(`the page file of the file index cannot be written: ${error.message}`);
          if (page.writing === writing) page.writing = undefined;
          page.dirty = true;
          this.settled();
        },
      );
    page.writing = writing;
  }

  private file(): number {
    if (this.fd < 0) {
      const directory = mkdtempSync(path.join(tmpdir(), 'rast-tree-'));
      try {
        this.fd = openSync(path.join(directory, 'pages'), 'wx+', 0o600);
      } finally {
        rmSync(directory, { recursive: true, force: true });
      }
      closer.register(this, this.fd, this);
    }
    return this.fd;
  }

  /** Bytes of the file given to pages so far. */
  get fileBytes(): number {
    return this.fileEnd;
  }

  /** Bytes of evicted pages held until their writes end. */
  get writingMemory(): number {
    return this.writingBytes;
  }

  private settled(): void {
    this.pending--;
    if (this.closing && this.pending === 0) this.close();
  }

  /** Closes the file (once the writes under way end): the pages are not asked for again. */
  close(): void {
    this.closing = true;
    if (this.fd < 0 || this.pending > 0) return;
    closer.unregister(this);
    closeSync(this.fd);
    this.fd = -1;
  }
}

function writeAll(fd: number, bytes: Uint8Array, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const next = (done: number) => {
      if (done >= bytes.length) return resolve();
      write(fd, bytes, done, bytes.length - done, position + done, (error, written) => (error ? reject(error) : next(done + written)));
    };
    next(0);
  });
}
