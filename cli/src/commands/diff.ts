import { Option } from 'clipanion';
import { diffBackups, displayPath, type IndexDifference, type IndexEntry } from '@rast-backup/core';
import { BaseCommand } from '@rast-backup/core/command';
import { mapped, writeAll, writeJsonWith } from '../Output.js';

/** What --json shows of an entry on either side of a change. */
const facts = (entry: IndexEntry) => ({
  type: entry.type,
  size: entry.size,
  mtime: entry.mtime,
  mode: entry.mode,
  uid: entry.uid,
  gid: entry.gid,
});

function asJson(difference: IndexDifference) {
  if (difference.change === 'added') return { path: difference.path, change: 'added', after: facts(difference.after) };
  if (difference.change === 'removed') return { path: difference.path, change: 'removed', before: facts(difference.before) };
  const { path, changes, before, after } = difference;
  return { path, change: 'modified', changes, before: facts(before), after: facts(after) };
}

const SIGNS = { added: '+', removed: '-', modified: 'M' } as const;

export class DiffCommand extends BaseCommand {
  static override paths = [['diff']];
  static override usage = BaseCommand.Usage({
    category: 'Backups',
    description: 'Show what changed between two backups',
    details: `Lists the paths added (+), removed (-) and modified (M) from the first backup to the second (ids, unique prefixes, or latest), two backups of the same source, from their file indexes alone: no part is fetched. A modified path names what changed: \`type\` (a file became a directory, …), \`content\`, \`mode\`, \`owner\` (uid or gid) or \`xattrs\`. Content is compared by the modification time, the size, a symlink's target, a hard link's file, a device's numbers, and for a file where its data lies in the backups' streams, where that can tell: when the backups holding one side's data are in the other's chain, and the mode, owner and xattrs did not change (the directory source stores a file again for those alone). So a file rewritten with the same size and time is seen within one chain, not between two full backups. Ends with a count of each. --json prints { before, after, source, differences: [{ path, change, changes?, before?, after? }], added, removed, modified }.`,
    examples: [
      ['What the latest backup changed since an older one', '$0 diff 20261201T0300 latest'],
      ['As JSON', '$0 diff 20261201T0300 latest --json'],
    ],
  });

  before = Option.String({ name: 'id1' });
  after = Option.String({ name: 'id2' });

  async run(): Promise<number> {
    const runtime = await this.context.runtime();
    const { before, after, differences } = await diffBackups(runtime, { before: this.before, after: this.after });
    const counts = { added: 0, removed: 0, modified: 0 };
    async function* counted() {
      for await (const difference of differences) {
        counts[difference.change]++;
        yield difference;
      }
    }
    if (this.json) {
      const head = { before: before.id, after: after.id, source: after.source.path };
      await writeJsonWith(this.context.stdout, head, 'differences', mapped(counted(), asJson), () => counts);
      return 0;
    }
    async function* lines() {
      for await (const difference of counted()) {
        const what = difference.change === 'modified' ? ` (${difference.changes.join(', ')})` : '';
        yield `${SIGNS[difference.change]} ${displayPath(difference.path)}${what}\n`;
      }
      yield `${counts.added} added, ${counts.removed} removed, ${counts.modified} modified\n`;
    }
    await writeAll(this.context.stdout, lines());
    return 0;
  }
}
