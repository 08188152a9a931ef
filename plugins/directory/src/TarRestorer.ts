import { displayPath, streamDamaged, type Manifest, type RestoreContext, type RestoreReport } from '@rast-backup/core';
import { lstat } from 'node:fs/promises';
import { batches, restoreIndexedTree, type FilesToFill, type FileToFill, type SafeTree } from '@rast-backup/restore-kit';
import { tarEntries, type TarEntry } from './TarEntries.js';

/** Two zero blocks: the end of a tar archive, after a span read on its own. */
const END_OF_ARCHIVE = Buffer.alloc(1024);

/** Files read from their spans are sorted by offset this many at a time. */
const SPAN_BATCH = 4096;

const exists = (at: Buffer) =>
  lstat(at).then(
    () => true,
    () => false,
  );

/** A span of the stream as a tar archive of its own (its entry, then the end). */
async function* archiveOf(span: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  yield* span;
  yield END_OF_ARCHIVE;
}

/**
 * Restores a tar backup chain: the index says which backup holds each wanted file. For a whole restore,
 * each of those backups' streams is read once, oldest first, taking only those files (each stream entry is
 * looked up in the index: the stream need not be in index order). With --include, a
 * file whose index entry records where it lies in the stream is read from that span alone, so only the
 * parts holding it are fetched; backups made before spans were recorded are read whole.
 */
export function restoreTree(context: RestoreContext): Promise<RestoreReport> {
  return restoreIndexedTree(context, async (files: FilesToFill, tree: SafeTree) => {
    let bytes = 0;
    const write = async (file: FileToFill, manifest: Manifest, { header, size, data }: TarEntry) => {
      if (header.type !== 'file' || size !== file.entry.size) {
        throw streamDamaged(
          manifest.id,
          `${displayPath(file.entry.path)} in the stream (${header.type}, ${size} bytes) does not match the index (${file.entry.size} bytes)`,
        );
      }
      const handle = await tree.createFile(file.target);
      try {
        // At their offsets: a sparse file's holes are never written, so they stay holes.
        let end = 0;
        for await (const { position, chunk } of data()) {
          await handle.write(chunk, 0, chunk.length, position);
          bytes += chunk.length;
          end = position + chunk.length;
        }
        // A file that ends in a hole.
        if (end < size) await handle.truncate(size);
      } finally {
        await handle.close();
      }
    };
    for (const manifest of context.chain) {
      const needed = files.inBackup.get(manifest.id) ?? 0;
      if (needed === 0) continue;
      const here = async function* () {
        for await (const file of files) if (file.entry.from === manifest.id) yield file;
      };
      let spanned = context.include.length > 0;
      if (spanned) for await (const { entry } of here()) spanned &&= entry.ranges?.length === 1 && entry.ranges[0]!.from === manifest.id;
      if (spanned) {
        const reader = context.rangeReader(manifest);
        for await (const batch of batches(here(), SPAN_BATCH)) {
          for (const file of batch.sort((a, b) => a.entry.ranges![0]!.start - b.entry.ranges![0]!.start)) {
            const { start, end } = file.entry.ranges![0]!;
            let found = false;
            for await (const entry of tarEntries(archiveOf(reader.read(start, end)), manifest.id)) {
              const { path } = entry;
              if (found || path !== file.entry.path) {
                throw streamDamaged(
                  manifest.id,
                  `bytes ${start}–${end} of its stream hold ${displayPath(path)}, where its index places ${displayPath(file.entry.path)}`,
                );
              }
              found = true;
              await write(file, manifest, entry);
            }
            if (!found)
              throw streamDamaged(
                manifest.id,
                `bytes ${start}–${end} of its stream hold no entry, where its index places ${displayPath(file.entry.path)}`,
              );
          }
        }
        continue;
      }
      // The stream's order is not the index's: each of its entries is looked up.
      let written = 0;
      for await (const entry of tarEntries(context.openStream(manifest), manifest.id)) {
        const file = await files.lookup(entry.path);
        if (!file || file.entry.from !== manifest.id) continue;
        await write(file, manifest, entry);
        written++;
      }
      if (written < needed) {
        const missing: string[] = [];
        for await (const file of here()) {
          if (!(await exists(tree.absolute(file.target)))) missing.push(displayPath(file.entry.path));
          if (missing.length === 3) break;
        }
        throw streamDamaged(manifest.id, `its stream lacks ${needed - written} entries its index lists (${missing.join(', ')})`);
      }
    }
    return bytes;
  });
}
