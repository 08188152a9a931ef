import path from 'node:path';
import { Option } from 'clipanion';
import { displayPath, findPaths, parsePointInTime, POINT_IN_TIME_FORMS } from '@rast-backup/core';
import { BaseCommand } from '@rast-backup/core/command';
import { formatBytes, formatMtime, mapped, writeAll, writeJsonWith } from '../Output.js';

export class FindCommand extends BaseCommand {
  static override paths = [['find']];
  static override usage = BaseCommand.Usage({
    category: 'Backups',
    description: 'Find which backups hold some paths',
    details:
      "Searches the file indexes of the backups (oldest first; nothing else is fetched) for paths matching any of the patterns, and prints one line per match: the backup, the entry's type, size, modification time and path. Patterns have the syntax of restore --include: a path from the backup's root (a leading / is allowed) with globs (`*` within a name, `**` across directories, `?`, `[…]`, `{a,b}`), dotfiles included; unlike --include, a pattern matches the entries it names, not everything below a directory it names (`/etc/**` for that). A pattern with no glob is one lookup per backup; any other is searched in the subtree of its literal leading directory (the whole tree for `**/x`), each index run once for all the backups that share it (an incremental chain shares most), so the cost follows the runs stored, not backups × files. --source keeps the backups of one source path, --since those created at or after a time (as for list --since: a date YYYY-MM-DD, a time YYYY-MM-DDTHH:MM[:SS][Z|±HH:MM], or an age: 36h, 7d, 2w). A pattern that matched nothing is named in a warning on stderr. --json prints { patterns, backups (how many were searched), matches: [{ backup, created, source, path, type, size, mtime (nanoseconds) }], unmatched }.",
    examples: [
      ['Every backup holding /etc/fstab', '$0 find /etc/fstab'],
      ['Configuration files under /etc in the last week', "$0 find '/etc/**/*.conf' --since 7d"],
      ['Anywhere in the tree, one source', "$0 find '**/id_rsa*' --source /home"],
    ],
  });

  patterns = Option.Rest({ required: 1, name: 'pattern' });
  source = Option.String('--source', { description: 'Only backups of this source path' });
  since = Option.String('--since', { description: `Only backups created at or after this time: ${POINT_IN_TIME_FORMS}` });

  async run(): Promise<number> {
    const since = this.since === undefined ? undefined : parsePointInTime(this.since, '--since', 'start');
    const source = this.source === undefined ? undefined : path.resolve(this.source);
    const runtime = await this.context.runtime();
    const { backups, found, unmatched } = await findPaths(runtime, { patterns: this.patterns, source, since });
    const warn = () => {
      for (const pattern of unmatched()) runtime.log.warn(`pattern ${pattern} matched no path in the ${backups.length} backup(s) searched`);
    };
    if (this.json) {
      const matches = mapped(found, ({ backup, entry }) => ({
        backup: backup.id,
        created: backup.created,
        source: backup.source.path,
        path: entry.path,
        type: entry.type,
        size: entry.size,
        mtime: entry.mtime,
      }));
      await writeJsonWith(this.context.stdout, { patterns: this.patterns, backups: backups.length }, 'matches', matches, () => ({
        unmatched: unmatched(),
      }));
    } else {
      await writeAll(
        this.context.stdout,
        mapped(
          found,
          ({ backup, entry }) =>
            `${backup.id}  ${entry.type.padEnd(9)} ${formatBytes(entry.size).padStart(10)}  ${formatMtime(entry.mtime)}  ${displayPath(entry.path)}\n`,
        ),
      );
    }
    warn();
    return 0;
  }
}
