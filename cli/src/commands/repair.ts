import { Option, UsageError } from 'clipanion';
import { displayPath, isRastError, repairBackups, type RepairReport } from '@rast-backup/core';
import { BaseCommand, progressOption, withProgress } from '@rast-backup/core/command';
import { writeJson } from '../Output.js';

export class RepairCommand extends BaseCommand {
  static override paths = [['repair']];
  static override usage = BaseCommand.Usage({
    category: 'Backups',
    description: 'Mend damaged backups from what survives',
    details: `Repairs one backup and the backups below it in its chain, or every backup with --all, from what survives in the sinks: a manifest damaged (or missing beside its data) in one sink is copied back from a sink that holds the good one, with its signature; a part or file index object that is missing, of the wrong size or with the wrong SHA-256 in one sink is stored again from a good copy in another sink (checked before it is written); a file index lost in every sink is rebuilt from the backup's stream (btrfs-send backups, and tar full backups, whose rebuilt index lacks ctime, inode numbers and extended attributes). A rebuilt index that encodes to the recorded bytes is stored under its own keys and the manifest is unchanged; otherwise (encryption writes new bytes every time) it is stored under new keys and the manifest is rewritten to point at it, signed again when signing is on (that needs the signing key): the new signature is written as .json.sig.next, then the manifest, then .json.sig, so that a re-sign cut short leaves a manifest a signature verifies, and the next repair finishes it. Every write is atomic; nothing is removed that is not replaced. Reports each repair and what cannot be repaired (a part with no good copy anywhere, a manifest damaged in every sink, an index whose stream cannot tell it); exits 1 when something could not be repaired. Every sink must be reachable. On a terminal, stderr shows the stored bytes read and checked (every object from each sink that holds it) of the total, %, rate and ETA (--progress).`,
    examples: [
      ['Repair the latest backup and its chain', '$0 repair latest'],
      ['See what would be repaired in the whole repository', '$0 repair --all --dry-run'],
      ['Repair everything, for a script', '$0 repair --all --json'],
    ],
  });

  id = Option.String({ name: 'id', required: false });
  all = Option.Boolean('--all', false, { description: 'Repair every backup' });
  dryRun = Option.Boolean('--dry-run', false, { description: 'Say what would be repaired, and change nothing' });
  progress = progressOption();

  async run(): Promise<number> {
    if (this.all === (this.id !== undefined))
      throw new UsageError(this.all ? 'give a backup id or --all, not both' : 'give a backup id (or latest), or --all');
    const runtime = await this.context.runtime();
    let report: RepairReport;
    let exit = 0;
    try {
      report = await withProgress(runtime.pipeline, { mode: this.progress, json: this.json, stream: this.context.stderr }, () =>
        repairBackups(runtime, { backup: this.id, all: this.all, dryRun: this.dryRun }),
      );
    } catch (error) {
      if (!isRastError(error) || !error.facts.report) throw error;
      report = error.facts.report as RepairReport;
      exit = error.exitCode;
    }
    if (this.json) writeJson(this.context.stdout, report);
    else for (const backup of report.backups) for (const action of backup.repaired) this.out(displayPath(action.message));
    for (const backup of report.backups)
      for (const failure of backup.unrepairable) this.context.stderr.write(`rast-backup: cannot repair: ${displayPath(failure.message)}\n`);
    const summary =
      report.status === 'intact'
        ? `${report.backups.length} backups checked: nothing to repair`
        : `${report.backups.length} backups checked: ${report.repaired} ${report.dryRun ? 'would be repaired' : 'repaired'}, ${report.unrepairable} cannot be repaired`;
    if (exit === 0 && !this.json) this.out(summary);
    else if (exit !== 0) this.context.stderr.write(`rast-backup: ${summary}\n`);
    return exit;
  }
}
