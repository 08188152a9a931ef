import { Option } from 'clipanion';
import { isRastError, verifyBackup, type VerifyReport } from '@rast-backup/core';
import { BaseCommand } from '../BaseCommand.js';
import { writeJson } from '../Output.js';

export class VerifyCommand extends BaseCommand {
  static override paths = [['verify']];
  static override usage = BaseCommand.Usage({
    category: 'Backups',
    description: 'Check that a backup is intact',
    details: 'Checks that every part of the backup is present in every sink that holds it, with its recorded size and SHA-256, then decodes the stream end to end and compares it with the file index. Exits 1 on any damage, naming the backup, the part and the sink.',
    examples: [['Verify the latest backup', '$0 verify latest']],
  });

  id = Option.String({ name: 'id' });

  async run(): Promise<number> {
    const runtime = await this.context.runtime();
    let report: VerifyReport;
    try {
      report = await verifyBackup(runtime, { backup: this.id });
    } catch (error) {
      if (!isRastError(error) || !error.details.report) throw error;
      report = error.details.report as VerifyReport;
      if (this.json) writeJson(this.context.stdout, report);
      for (const problem of report.sinks.flatMap((sink) => sink.problems)) this.context.stderr.write(`rast-backup: damaged: ${problem}\n`);
      if (report.stream) this.context.stderr.write(`rast-backup: damaged: ${report.stream}\n`);
      return 1;
    }
    if (this.json) writeJson(this.context.stdout, report);
    else this.out(`${report.backup}: intact (${report.sinks.map((sink) => `${sink.objects} objects in ${sink.sink}`).join(', ')}; stream decoded end to end)`);
    return 0;
  }
}
