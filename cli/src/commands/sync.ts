import { Option } from 'clipanion';
import { syncRepository } from '@rast-backup/core';
import { BaseCommand, progressOption, withProgress } from '@rast-backup/core/command';
import { interruptible } from '../Interrupts.js';
import { runAndReport } from '../SyncOutput.js';

export class SyncCommand extends BaseCommand {
  static override paths = [['sync']];
  static override usage = BaseCommand.Usage({
    category: 'Backups',
    description: 'Copy backups into the configured sinks that lack them',
    details:
      'Brings every configured sink in step: each committed backup that a sink lacks (a create during an S3 outage commits in the local sink only; `list` shows it as behind) is copied into it from the sinks that hold it: its parts, file index header and blocks, its signature, and its manifest last, so that the sink holds the backup only once all of it is there. Every object is checked against its SHA-256 and size as it is copied: a damaged copy is never spread; it is read from another sink that holds a good one, or the backup is not copied and the damage is reported (`repair` puts it right). Objects already in the sink with their recorded size (those of an interrupted sync) are not copied again. Ancestors are copied before the backups that depend on them. Up to `[backup] concurrency` objects are copied at once, each streamed from sink to sink and checked as it flows (a copy found bad at its end is never stored), so memory does not grow with the part size. With IDs, copies those backups and the backups below them in their chains only. `[backup] sync_after_create = true` runs it after every create. Exits 1 naming each backup and sink not brought in step, or a sink that could not be read (the other sinks are still brought in step). On SIGINT or SIGTERM it stops before the next object; what it copied stays for the next run, and no manifest is written for a backup not wholly copied. On a terminal, stderr shows the stored bytes copied (or found already there) of every backup into every sink that lacks it of the total, %, rate and ETA (--progress).',
    examples: [
      ['Copy what the S3 sink missed during an outage', '$0 sync'],
      ['Say what would be copied', '$0 sync --dry-run'],
      ['Bring one backup (and its chain) in step, as JSON', '$0 sync 20261127T163408Z-3f9a1c --json'],
    ],
  });

  ids = Option.Rest({ name: 'id' });
  dryRun = Option.Boolean('--dry-run', false, { description: 'Say what would be copied; copy nothing' });
  progress = progressOption();

  async run(): Promise<number> {
    const runtime = await this.context.runtime();
    return runAndReport(this, () =>
      withProgress(runtime.pipeline, { mode: this.progress, json: this.json, stream: this.context.stderr }, () =>
        interruptible((signal) =>
          syncRepository(runtime, { backups: this.ids.length > 0 ? this.ids : undefined, dryRun: this.dryRun, signal }),
        ),
      ),
    );
  }
}
