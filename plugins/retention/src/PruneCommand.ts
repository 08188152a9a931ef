import { Option } from 'clipanion';
import prettyBytes from 'pretty-bytes';
import * as t from 'typanion';
import { BaseCommand, progressOption, withProgress } from '@rast-backup/core/command';
import { displayPath, pluginNotApplied } from '@rast-backup/core';
import { prune, type PruneReport } from './Pruner.js';
import { commandLineRules, settingsOf } from './RetentionSettings.js';

const formatBytes = (bytes: number) => prettyBytes(bytes, { binary: true });

const count = t.cascade(t.isNumber(), [t.isInteger(), t.isAtLeast(0)]);
const keep = (flag: string, what: string) =>
  Option.String(flag, {
    validator: count,
    description: `Keep ${what} (overrides [retention] for this run, with the other --keep-* options)`,
  });

/** `rast-backup prune [--dry-run] [--keep-* …]`: applies `[retention]`, or the rules given on the command line. */
export class PruneCommand extends BaseCommand {
  static override paths = [['prune']];
  static override usage = BaseCommand.Usage({
    category: 'Backups',
    description: 'Remove the backups that the retention policy does not keep',
    details: `Applies [retention] (last, hourly, daily, weekly, monthly, yearly, keep_tags) to the backups of each host and source, and removes the others from every sink, children before parents. The --keep-* options replace those rules for this run, as restic's forget does: given any of them, the rules are theirs alone (the other [retention] keys still apply), and a [retention] table is not needed. Each takes a whole number of 0 or more. A backup that a kept incremental depends on is always kept. Removing a backup also removes what plugins keep for it (its local btrfs snapshot). Data left by interrupted creates (parts without a manifest) is removed once older than leftover_age_hours (48). With --dry-run, prints the plan and why each backup is kept or removed, and changes nothing. On a terminal, stderr shows the stored bytes freed of the total, %, rate and ETA (--progress).`,
    examples: [
      ['See what would be removed, and why each backup is kept', '$0 prune --dry-run'],
      ['Prune, reporting as JSON', '$0 prune --json'],
      [
        'Keep the 3 newest backups and one a week for 4 weeks, whatever [retention] says',
        '$0 prune --keep-last 3 --keep-weekly 4 --dry-run',
      ],
    ],
  });

  dryRun = Option.Boolean('--dry-run,-n', false, {
    description: 'Print what would be removed and why each backup is kept; remove nothing',
  });

  keepLast = keep('--keep-last', 'the N newest backups of each host and source');
  keepHourly = keep('--keep-hourly', 'the newest backup of each of the last N hours that have one');
  keepDaily = keep('--keep-daily', 'the newest backup of each of the last N days that have one');
  keepWeekly = keep('--keep-weekly', 'the newest backup of each of the last N ISO weeks that have one');
  keepMonthly = keep('--keep-monthly', 'the newest backup of each of the last N months that have one');
  keepYearly = keep('--keep-yearly', 'the newest backup of each of the last N years that have one');
  progress = progressOption();
  keepTags = Option.Array('--keep-tag', [], {
    description: 'Keep every backup carrying this tag (repeatable; overrides [retention] keep_tags with the other --keep-* options)',
  });

  async run(): Promise<number> {
    const rules = commandLineRules({
      last: this.keepLast,
      hourly: this.keepHourly,
      daily: this.keepDaily,
      weekly: this.keepWeekly,
      monthly: this.keepMonthly,
      yearly: this.keepYearly,
      keepTags: this.keepTags,
    });
    const runtime = await this.context.runtime();
    const configured = settingsOf(runtime.pipeline);
    if (!configured) throw pluginNotApplied('retention', 'prune', 'retention');
    const settings = rules ? { ...configured, rules, rulesFrom: 'command line' as const } : configured;
    const report = await withProgress(runtime.pipeline, { mode: this.progress, json: this.json, stream: this.context.stderr }, () =>
      prune(runtime, settings, { dryRun: this.dryRun }),
    );
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
      `, ${formatBytes(report.freedBytes)} (rules${report.rulesFrom === 'command line' ? ' from the command line' : ''}: ${report.rules})`,
  );
  // Ids and sources come from the repository: on a terminal only escaped, as \xHH.
  return `${lines.map(displayPath).join('\n')}\n`;
}
