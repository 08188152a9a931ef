import { displayPath, ErrorCode, RastError, type RestoreContext, type RestoreReport } from '@rast-backup/core';
import { restoreIndexedTree, type FileToFill } from './IndexedTreeRestorer.js';
import type { SafeTree } from './SafeTree.js';
import { tarEntries } from './TarEntries.js';

/**
 * Restores a tar backup chain: the index says which backup holds each wanted file; each of those backups'
 * streams is read once, oldest first, and only those files are taken from it.
 */
export function restoreTree(context: RestoreContext): Promise<RestoreReport> {
  return restoreIndexedTree(context, async (files: FileToFill[], tree: SafeTree) => {
    let bytes = 0;
    for (const manifest of context.chain) {
      const needed = new Map(files.filter(({ entry }) => entry.from === manifest.id).map((file) => [file.entry.path, file]));
      if (needed.size === 0) continue;
      for await (const { path: entryPath, header, body } of tarEntries(context.openStream(manifest), manifest.id)) {
        const file = needed.get(entryPath);
        if (!file) continue;
        needed.delete(entryPath);
        if (header.type !== 'file' || header.size !== file.entry.size) {
          throw new RastError(ErrorCode.STREAM_DAMAGED, `backup ${manifest.id}: ${displayPath(entryPath)} in the stream (${header.type}, ${header.size} bytes) does not match the index (${file.entry.size} bytes)`, { backup: manifest.id });
        }
        const handle = await tree.createFile(file.target);
        try {
          for await (const chunk of body) {
            await handle.write(chunk);
            bytes += chunk.length;
          }
        } finally {
          await handle.close();
        }
      }
      if (needed.size > 0) {
        const missing = [...needed.keys()].slice(0, 3).map(displayPath).join(', ');
        throw new RastError(ErrorCode.STREAM_DAMAGED, `backup ${manifest.id}: its stream lacks ${needed.size} entries its index lists (${missing})`, { backup: manifest.id });
      }
    }
    return bytes;
  });
}
