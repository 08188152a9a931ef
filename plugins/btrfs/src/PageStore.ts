import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
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
  /** Its memory while resident. */
  array?: PageArray;
  /** Where the page lies in the file once written there, or -1. */
  offset: number;
  resident: boolean;
}

const closer = new FinalizationRegistry<number>((fd) => closeSync(fd));

/**
 * Pages of typed arrays (columns' chunks) kept in memory up to a budget of bytes; beyond it, the pages that
 * came in first are written to a temporary file (removed as soon as it is opened) and read back when asked
 * for. Reads and writes are synchronous: the pages are asked for from synchronous code, and come from the
 * page cache mostly.
 */
export class PageStore {
  /** Items per page: 2^shift. */
  readonly pageItems: number;
  private readonly resident: Page[] = [];
  /** The first page of `resident` still in memory (pages before it have left, in order). */
  private head = 0;
  private residentBytes = 0;
  /** Memory of pages that left, given to the next page of its kind. */
  private readonly spare = new Map<PageKind, PageArray>();
  private fd = -1;
  private fileEnd = 0;
  /** Pages read back from the file, for tests and measurements. */
  faults = 0;

  constructor(
    private readonly budget = Infinity,
    readonly shift = 16,
  ) {
    this.pageItems = 1 << shift;
  }

  /** Whether item `id` is the first of a page: the columns are extended for it. */
  startsPage(id: number): boolean {
    return (id & (this.pageItems - 1)) === 0;
  }

  /** A new page of zeros: its owner reads it at the array returned until it is evicted. */
  admit<T extends PageArray>(owner: PageOwner, index: number, kind: new (length: number) => T): [Page, T] {
    const array = this.memory(kind).fill(0) as T;
    const page: Page = { owner, index, kind, bytes: array.byteLength, array, offset: -1, resident: true };
    this.enter(page);
    return [page, array];
  }

  /** A page's memory again, read back from the file when it has left memory. */
  load(page: Page): PageArray {
    if (page.resident) return page.array!;
    this.faults++;
    page.array = this.memory(page.kind);
    const bytes = new Uint8Array(page.array.buffer, page.array.byteOffset, page.array.byteLength);
    for (let done = 0; done < bytes.length;) {
      const read = readSync(this.fd, bytes, done, bytes.length - done, page.offset + done);
      if (read === 0) throw new Error('the page file of the file index is cut short');
      done += read;
    }
    page.resident = true;
    this.enter(page);
    return page.array;
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
    const array = page.array!;
    if (page.offset < 0) {
      page.offset = this.fileEnd;
      this.fileEnd += page.bytes;
    }
    const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
    const fd = this.file();
    for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done, bytes.length - done, page.offset + done);
    page.resident = false;
    page.array = undefined;
    this.spare.set(page.kind, array);
    this.residentBytes -= page.bytes;
    page.owner.evicted(page.index);
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

  /** Closes the file: the pages are not asked for again. */
  close(): void {
    if (this.fd < 0) return;
    closer.unregister(this);
    closeSync(this.fd);
    this.fd = -1;
  }
}
