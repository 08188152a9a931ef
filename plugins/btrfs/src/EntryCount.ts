import { opendir } from 'node:fs/promises';

/**
 * Entries of the tree at `root`, the root itself included (as the user-space receiver counts them). Names are
 * read as bytes (a name that is not UTF-8 is still reached); symlinks are not followed.
 */
export async function countEntries(root: string): Promise<number> {
  let count = 1;
  const directories = [Buffer.from(root)];
  for (let directory = directories.pop(); directory !== undefined; directory = directories.pop()) {
    // With encoding 'buffer', names come as bytes (the types say string).
    for await (const entry of await opendir(directory, { encoding: 'buffer' as BufferEncoding })) {
      count += 1;
      if (entry.isDirectory()) directories.push(Buffer.concat([directory, Buffer.from('/'), entry.name as unknown as Buffer]));
    }
  }
  return count;
}
