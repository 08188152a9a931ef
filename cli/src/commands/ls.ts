import { Option } from 'clipanion';
import { backupPathInvalid, fromDisplayPath, pathNotInBackup, storedEntry, type IndexEntry } from '@rast-backup/core';
import { BaseCommand } from '@rast-backup/core/command';
import { formatEntry, mapped, writeAll, writeJsonWith } from '../Output.js';

/**
 * A path as the user types it (`/alice/notes.txt`, `alice/`, `.`, `lat-\xe9` for bytes that are not UTF-8, as listed)
 * in the index's form (`alice/notes.txt`, `.` for the root).
 */
function pathInBackup(argument: string): string {
  const parts = fromDisplayPath(argument)
    .split('/')
    .filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) throw backupPathInvalid(argument, '".." is not allowed in a path inside a backup');
  return parts.length === 0 ? '.' : parts.join('/');
}

export class LsCommand extends BaseCommand {
  static override paths = [['ls']];
  static override usage = BaseCommand.Usage({
    category: 'Backups',
    description: "List a backup's files",
    details:
      "Lists the entries of a directory inside a backup (id, unique prefix, or latest), from the backup's file index: nothing else is downloaded and no chain is replayed. Without a path, the backup's root. A file's path lists that file. With --recursive, the whole subtree.",
    examples: [
      ['The root of the latest backup', '$0 ls latest'],
      ['Everything under /alice', '$0 ls latest /alice --recursive'],
    ],
  });

  id = Option.String({ name: 'id' });
  inside = Option.String({ required: false, name: 'path' });
  recursive = Option.Boolean('-R,--recursive', false, { description: 'List the whole subtree' });

  async run(): Promise<number> {
    const runtime = await this.context.runtime();
    const { manifest } = await runtime.repository.catalog.resolve(this.id);
    const index = await runtime.repository.indexes.open(manifest);
    const wanted = pathInBackup(this.inside ?? '.');
    const self = await index.get(wanted);
    if (!self) throw pathNotInBackup(manifest.id, this.inside!);
    const recursive = this.recursive;
    // Read from the index block by block: a directory's listing reads only the blocks that hold it.
    async function* listed(): AsyncGenerator<IndexEntry> {
      if (self!.type !== 'directory') yield self!;
      else if (!recursive) yield* index.children(wanted);
      else for await (const entry of index.subtree(wanted)) if (entry.path !== wanted) yield entry;
    }
    if (this.json)
      await writeJsonWith(this.context.stdout, { backup: manifest.id, path: wanted }, 'entries', mapped(listed(), storedEntry));
    else
      await writeAll(
        this.context.stdout,
        mapped(listed(), (entry) => `${formatEntry(entry)}\n`),
      );
    return 0;
  }
}
