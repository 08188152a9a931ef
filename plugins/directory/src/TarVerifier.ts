import { displayPath, ErrorCode, RastError, type VerifyContext } from '@rast-backup/core';
import { checkIndex } from '@rast-backup/restore-kit';
import { tarEntries } from './TarEntries.js';

const TAR_TYPES: Record<string, string> = {
  file: 'file',
  directory: 'directory',
  symlink: 'symlink',
  hardlink: 'link',
  fifo: 'fifo',
  'char-device': 'character-device',
  'block-device': 'block-device',
};

/** Checks the index describes a restorable tree, then reads the whole tar stream (header checksums, sizes) and checks it holds exactly what the index says. */
export async function verifyTree(context: VerifyContext): Promise<void> {
  const { manifest, index } = context;
  const expected = new Map(index.entries.filter((entry) => entry.from === manifest.id).map((entry) => [entry.path, entry]));
  const damaged = (message: string) =>
    new RastError(ErrorCode.STREAM_DAMAGED, `backup ${manifest.id}: ${message}`, { backup: manifest.id });
  // A full backup holds all its data; an incremental's chain is checked by restore.
  checkIndex(index, manifest.id, manifest.parent === null ? new Set([manifest.id]) : undefined);
  for await (const { path: indexed, header, size: fileSize, data } of tarEntries(context.stream, manifest.id)) {
    const entry = expected.get(indexed);
    const path = displayPath(indexed);
    if (!entry) throw damaged(`the stream holds ${path}, which its index does not list`);
    expected.delete(indexed);
    if (TAR_TYPES[entry.type] !== header.type) throw damaged(`${path} is a ${header.type} in the stream, a ${entry.type} in the index`);
    // Reading the data checks a sparse file's map against what its entry stores.
    for await (const _ of data()) void _;
    if (fileSize !== entry.size) throw damaged(`${path} holds ${fileSize} bytes in the stream, ${entry.size} in the index`);
  }
  if (expected.size > 0)
    throw damaged(
      `the stream lacks ${expected.size} entries its index lists (${[...expected.keys()].slice(0, 3).map(displayPath).join(', ')})`,
    );
}
