import { Readable } from 'node:stream';
import { displayPath, ErrorCode, RastError } from '@rast-backup/core';
import tar from 'tar-stream';
import { binaryNameExtract } from './BinaryPaxNames.js';

/**
 * Checks a path from an archive: relative, no `.` or `..` or empty components, no NUL. Returns it
 * normalized (`./a/b/` → `a/b`, the root → `.`), or throws RESTORE_UNSAFE.
 */
export function safeRelativePath(name: string, backupId: string): string {
  let path = name.replace(/\/+$/, '');
  while (path.startsWith('./')) path = path.slice(2);
  if (path === '' || path === '.') return '.';
  if (path.startsWith('/') || path.includes('\0') || path.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    throw new RastError(ErrorCode.RESTORE_UNSAFE, `backup ${backupId} holds an unsafe path ${JSON.stringify(displayPath(name))}: refusing to restore outside the destination`, { backup: backupId });
  }
  return path;
}

export interface TarEntry {
  /** An index path (see IndexPath). */
  path: string;
  header: tar.Header;
  body: AsyncIterable<Buffer> & { resume(): void };
}

/** The entries of a tar byte stream with checked paths; each body must be read or resumed before the next. */
export async function* tarEntries(stream: AsyncIterable<Buffer>, backupId: string): AsyncGenerator<TarEntry> {
  const extract = binaryNameExtract();
  const source = Readable.from(stream);
  source.on('error', (error) => extract.destroy(error));
  source.pipe(extract);
  try {
    for await (const entry of extract) {
      yield { path: safeRelativePath(entry.header.name, backupId), header: entry.header, body: entry as unknown as TarEntry['body'] };
      entry.resume();
    }
  } catch (error) {
    if (error instanceof RastError) throw error;
    throw new RastError(ErrorCode.STREAM_DAMAGED, `backup ${backupId}: the tar stream is damaged: ${(error as Error).message}`, { backup: backupId }, { cause: error });
  } finally {
    source.destroy();
  }
}
