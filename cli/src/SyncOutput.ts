import { displayPath, isRastError, type SyncReport } from '@rast-backup/core';
import type { BaseCommand } from '@rast-backup/core/command';
import { formatBytes, writeJson } from './Output.js';

/**
 * Runs `sync` or `copy` and prints its report: with --json the report alone on stdout; else a line per backup
 * copied (stdout) and per failure (stderr), then a summary. A failed run prints its report too, then its error.
 */
export async function runAndReport(command: BaseCommand, work: () => Promise<SyncReport>): Promise<number> {
  let report: SyncReport;
  let failure: unknown;
  try {
    report = await work();
  } catch (error) {
    if (!isRastError(error) || !error.facts.report) throw error;
    report = error.facts.report as SyncReport;
    failure = error;
  }
  const { stdout, stderr } = command.context;
  if (command.json) writeJson(stdout, report);
  else {
    const verb = report.dryRun ? 'would copy' : 'copied';
    for (const copy of report.copies) {
      if (copy.status === 'failed') {
        stderr.write(`rast-backup: not copied: ${displayPath(`backup ${copy.backup} into sink ${copy.sink}: ${copy.problem}`)}\n`);
        continue;
      }
      const present = copy.present > 0 ? `, ${copy.present} already there` : '';
      const from = copy.from.length > 0 ? ` from ${copy.from.join(', ')}` : '';
      const unchecked = copy.unchecked
        ? ` (${copy.unchecked} index blocks checked by size only: this host cannot decode their header)`
        : '';
      command.out(
        displayPath(
          `${verb} ${copy.backup} into ${copy.sink}: ${copy.objects} objects, ${formatBytes(copy.bytes)}${present}${from}${unchecked}`,
        ),
      );
    }
    const copies = report.copies.length - report.failed;
    command.out(
      `${copies} ${copies === 1 ? 'copy' : 'copies'} ${report.dryRun ? 'to make' : 'made'} (${formatBytes(report.bytes)}), ${report.failed} failed, ${report.inStep} backups already in step`,
    );
  }
  return failure === undefined ? 0 : command.report(failure);
}
