import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { linkSources } from './FileIndex.js';
import { encodeLine, isTombstone, type IndexRecord } from './IndexRun.js';

const CHUNK = 1024 * 1024;

/**
 * Index records kept in a temporary file (removed as soon as it is opened) instead of memory, for a format
 * that produces them in index order while its stream flows: add() them in order, then read them back once, as
 * records or as the lines an index block holds (encodeLine), which a run is written from without parsing them.
 */
export class IndexSpool {
  private handle?: Promise<FileHandle>;
  private pending: string[] = [];
  private pendingLength = 0;
  private written = 0;
  private writing: Promise<void> = Promise.resolve();
  /** Records added so far. */
  count = 0;

  private file(): Promise<FileHandle> {
    return (this.handle ??= (async () => {
      const directory = await mkdtemp(path.join(tmpdir(), 'rast-index-'));
      try {
        return await open(path.join(directory, 'records'), 'wx+', 0o600);
      } finally {
        await rm(directory, { recursive: true, force: true });
      }
    })());
  }

  /** Adds a record; records must come in index order. Resolves when the spool can take more. */
  async add(record: IndexRecord): Promise<void> {
    const line = encodeLine(record) + '\n';
    this.pending.push(line);
    this.pendingLength += line.length;
    this.count++;
    if (this.pendingLength >= CHUNK) await this.flush();
  }

  private async flush(): Promise<void> {
    // Nothing pending: no file to open (records() of an empty spool would leave it open).
    if (this.pendingLength === 0) return this.writing;
    const data = Buffer.from(this.pending.join(''));
    this.pending = [];
    this.pendingLength = 0;
    const position = this.written;
    this.written += data.length;
    await this.writing;
    const handle = await this.file();
    this.writing = (async () => {
      for (let done = 0; done < data.length;) done += (await handle.write(data, done, data.length - done, position + done)).bytesWritten;
    })();
    await this.writing;
  }

  /** The records added, in the order they came; then the file is closed. */
  async *records(): AsyncGenerator<IndexRecord> {
    for await (const line of this.lines()) {
      const record = JSON.parse(line) as IndexRecord;
      if (!isTombstone(record)) linkSources(record);
      yield record;
    }
  }

  /** The records added as their lines in a block (encodeLine, no line break), in order; then the file is closed. */
  async *lines(): AsyncGenerator<string> {
    await this.flush();
    if (this.written === 0) return await this.close();
    const handle = await this.file();
    try {
      let rest = '';
      const text = new StringDecoder('utf8');
      const buffer = Buffer.alloc(CHUNK);
      for (let position = 0; position < this.written;) {
        const { bytesRead } = await handle.read(buffer, 0, CHUNK, position);
        if (bytesRead === 0) throw new Error('the index spool file is cut short');
        position += bytesRead;
        const lines = (rest + text.write(buffer.subarray(0, bytesRead))).split('\n');
        rest = lines.pop()!;
        yield* lines;
      }
    } finally {
      await this.close();
    }
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await (await handle?.catch(() => undefined))?.close().catch(() => {});
  }
}
