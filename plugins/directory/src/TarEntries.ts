import { Readable } from 'node:stream';
import { displayPath, RastError, streamDamaged } from '@rast-backup/core';
import { safeRelativePath } from '@rast-backup/restore-kit';
import tar from 'tar-stream';
import { binaryNameExtract } from './BinaryPaxNames.js';
import { BadSparseMap, entryName, fileData, fileSize } from './PaxSparse.js';

export interface TarEntry {
  /** An index path (see IndexPath). */
  path: string;
  header: tar.Header;
  /** The size of the file it holds (a sparse entry stores less). */
  size: number;
  body: AsyncIterable<Buffer> & { resume(): void };
  /** A file's data, read from `body`: each chunk with its offset in the file (a sparse file's holes are skipped). */
  data(): AsyncIterable<{ position: number; chunk: Buffer }>;
}

/**
 * The entries of a tar byte stream with checked paths; each body must be read or resumed before the next.
 * When the byte stream fails (a damaged part), its error is what the entries and their bodies throw, not
 * the parser's "Stream was destroyed".
 */
export async function* tarEntries(stream: AsyncIterable<Buffer>, backupId: string): AsyncGenerator<TarEntry> {
  const extract = binaryNameExtract();
  // The parser keeps chunks it has not parsed yet, past the next: it gets copies (RestoreContext.openStream).
  const source = Readable.from(copied(stream));
  let failure: unknown;
  source.on('error', (error) => {
    failure = error;
    extract.destroy(error);
  });
  source.pipe(extract);
  const explain = (error: unknown): RastError => {
    const cause = failure ?? error;
    if (cause instanceof RastError) return cause;
    return streamDamaged(backupId, `the tar stream is damaged: ${(cause as Error).message}`, {}, cause);
  };
  try {
    for await (const entry of extract) {
      const body = {
        async *[Symbol.asyncIterator]() {
          try {
            yield* entry as AsyncIterable<Buffer>;
          } catch (error) {
            throw explain(error);
          }
        },
        resume: () => entry.resume(),
      };
      const path = safeRelativePath(entryName(entry.header), backupId);
      const data = async function* () {
        try {
          yield* fileData(entry.header, body);
        } catch (error) {
          if (!(error instanceof BadSparseMap)) throw error;
          throw streamDamaged(backupId, `${displayPath(path)}: ${error.message}`);
        }
      };
      yield { path, header: entry.header, size: fileSize(entry.header), body, data };
      entry.resume();
    }
  } catch (error) {
    throw explain(error);
  } finally {
    source.destroy();
  }
}

async function* copied(stream: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  for await (const chunk of stream) yield Buffer.from(chunk);
}
