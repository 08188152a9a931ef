import { Option, UsageError } from 'clipanion';
import prettyBytes from 'pretty-bytes';
import { BaseCommand } from '@rast-backup/core/command';
import { displayPath, ErrorCode, RastError } from '@rast-backup/core';
import { prune, type PruneReport } from './Pruner.js';
import { settingsOf } from './RetentionSettings.js';

const formatBytes = (bytes: number) => prettyBytes(bytes, { binary: true });

/** `rast-backup prune [--dry-run]`: applies `[retention]`. */
export class PruneCommand extends BaseCommand {
  static override paths = [['prune']];
  static override usage = BaseCommand.Usage({
    category: 'Backups',
    description: 'Remove the backups that the retention policy does not keep',
    details: `Applies [retention] (last, hourly, daily, weekly, monthly, yearly, keep_tags) to the backups of each host and source, and removes the others from every sink, children before parents. A backup that a kept incremental depends on is always kept. Removing a backup also removes what plugins keep for it (its local btrfs snapshot). Data left by interrupted creates (parts without a manifest) is removed once older than leftover_age_hours (48). With --dry-run, prints the plan and why each backup is kept or removed, and changes nothing.`,
    examples: [
      ['See what would be removed, and why each backup is kept', '$0 prune --dry-run'],
      ['Prune, reporting as JSON', '$0 prune --json'],
    ],
  });

  dryRun = Option.Boolean('--dry-run,-n', false, {
    description: 'Print what would be removed and why each backup is kept; remove nothing',
  });

  async run(): Promise<number> {
    const runtime = await this.context.runtime();
    const settings = settingsOf(runtime.pipeline);
    if (!settings)
      throw new RastError(
        ErrorCode.CONFIG_INVALID,
        `${runtime.config.file ?? 'embedded default config'}: no [retention] table: prune needs one (e.g. daily = 7)`,
        { key: 'retention' },
      );
    const report = await prune(runtime, settings, { dryRun: this.dryRun });
    if (this.json) this.context.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else this.context.stdout.write(render(report));
    return 0;
  }
}

function render(report: PruneReport): string {
  const lines: string[] = [];
  const removing = new Set(report.removed);
  const verb = report.dryRun ? 'would remove' : 'removed';
  let group: string | undefined;
  for (const backup of [...report.backups].sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0))) {
    if (backup.group !== group) {
      group = backup.group;
      lines.push(`${group}:`);
    }
    const action = backup.keep ? 'keep  ' : removing.has(backup.id) ? (report.dryRun ? 'remove' : 'removed') : 'remove';
    lines.push(`  ${action} ${backup.id}${backup.name ? ` ${JSON.stringify(backup.name)}` : ''}: ${backup.reasons.join('; ')}`);
  }
  for (const leftover of report.leftovers) {
    lines.push(
      `${leftover.remove ? (report.dryRun ? 'remove' : 'removed') : 'keep  '} leftover ${leftover.id} in ${leftover.sink} (${leftover.objects} objects, ${formatBytes(leftover.size)}): ${leftover.reason}`,
    );
  }
  const leftoversRemoved = report.leftovers.filter((leftover) => leftover.remove).length;
  lines.push(
    `${report.dryRun ? 'dry run: ' : ''}${verb} ${report.removed.length} of ${report.backups.length} backups` +
      (leftoversRemoved ? ` and ${leftoversRemoved} leftovers of interrupted creates` : '') +
      `, ${formatBytes(report.freedBytes)} (rules: ${report.rules})`,
  );
  // Ids and sources come from the repository: on a terminal only escaped, as \xHH.
  return `${lines.map(displayPath).join('\n')}\n`;
}
