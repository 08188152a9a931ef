import { Command, Option, UsageError, type BaseContext } from 'clipanion';
import { ErrorCode, isRastError, RastError, type Runtime } from '@rast-backup/core';
import { prune, type PruneReport } from './Pruner.js';
import { settingsOf } from './RetentionSettings.js';

/** What the CLI gives every command (see cli/src/BaseCommand.ts). */
interface CommandContext extends BaseContext {
  runtime(): Promise<Runtime>;
}

const formatBytes = (bytes: number) => {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) (value /= 1024), unit++;
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
};

/** `rast-backup prune [--dry-run]`: applies `[retention]`. */
export class PruneCommand extends Command<CommandContext> {
  static override paths = [['prune']];
  static override usage = Command.Usage({
    category: 'Backups',
    description: 'Remove the backups that the retention policy does not keep',
    details: `Applies [retention] (last, hourly, daily, weekly, monthly, yearly, keep_tags) to the backups of each host and source, and removes the others from every sink, children before parents. A backup that a kept incremental depends on is always kept. Removing a backup also removes what plugins keep for it (its local btrfs snapshot). Data left by interrupted creates (parts without a manifest) is removed once older than leftover_age_hours (48). With --dry-run, prints the plan and why each backup is kept or removed, and changes nothing.`,
    examples: [
      ['See what would be removed, and why each backup is kept', '$0 prune --dry-run'],
      ['Prune, reporting as JSON', '$0 prune --json'],
    ],
  });

  config = Option.String('--config', { description: 'Config file to use (else RAST_BACKUP_CONFIG, a project config, /etc/rast/backup/config.toml, the embedded default)' });
  json = Option.Boolean('--json', false, { description: 'Print one JSON document on stdout; logs go to stderr' });
  verbose = Option.Boolean('--verbose', false, { description: 'Print more, and stack traces of unexpected errors' });
  dryRun = Option.Boolean('--dry-run,-n', false, { description: 'Print what would be removed and why each backup is kept; remove nothing' });

  async execute(): Promise<number> {
    try {
      return await this.run();
    } catch (error) {
      if (error instanceof UsageError) {
        this.context.stderr.write(`rast-backup: usage error: ${error.message}\n(see rast-backup prune --help)\n`);
        return 2;
      }
      if (isRastError(error)) {
        this.context.stderr.write(`rast-backup: error ${error.code}: ${error.message}\n`);
        if (this.verbose && error.cause instanceof Error) this.context.stderr.write(`${error.cause.stack}\n`);
        return error.exitCode;
      }
      this.context.stderr.write(`rast-backup: unexpected error: ${(error as Error).message}${this.verbose ? '' : ' (run with --verbose for details)'}\n`);
      if (this.verbose) this.context.stderr.write(`${(error as Error).stack}\n`);
      return 1;
    }
  }

  async run(): Promise<number> {
    const runtime = await this.context.runtime();
    const settings = settingsOf(runtime.pipeline);
    if (!settings) throw new RastError(ErrorCode.CONFIG_INVALID, `${runtime.config.file ?? 'embedded default config'}: no [retention] table: prune needs one (e.g. daily = 7)`, { key: 'retention' });
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
    lines.push(`${leftover.remove ? (report.dryRun ? 'remove' : 'removed') : 'keep  '} leftover ${leftover.id} in ${leftover.sink} (${leftover.objects} objects, ${formatBytes(leftover.size)}): ${leftover.reason}`);
  }
  const leftoversRemoved = report.leftovers.filter((leftover) => leftover.remove).length;
  lines.push(
    `${report.dryRun ? 'dry run: ' : ''}${verb} ${report.removed.length} of ${report.backups.length} backups` +
      (leftoversRemoved ? ` and ${leftoversRemoved} leftovers of interrupted creates` : '') +
      `, ${formatBytes(report.freedBytes)} (rules: ${report.rules})`,
  );
  return `${lines.join('\n')}\n`;
}
