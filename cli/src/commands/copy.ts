import { Option, UsageError } from 'clipanion';
import { copyBackups } from '@rast-backup/core';
import { BaseCommand, progressOption, withProgress } from '@rast-backup/core/command';
import { interruptible } from '../Interrupts.js';
import { runAndReport } from '../SyncOutput.js';

export class CopyCommand extends BaseCommand {
  static override paths = [['copy']];
  static override usage = BaseCommand.Usage({
    category: 'Backups',
    description: 'Copy backups into another repository',
    details:
      "Copies the backups given (ids, unique prefixes or latest) into the sinks of the repository that FILE configures (another config file: an offsite disk, another bucket), by the same mechanism as `sync`: every object checked against its SHA-256 and size as it is copied, the manifest last, resumable. Backups keep their ids, parents and signatures, and their objects are copied as stored (no re-encryption), so the copy verifies and restores on its own under FILE (which needs the keys to decrypt them, and to trust their signer). The backups below each one in its chain that the other repository lacks are copied too, ancestors first; a chain whose parent is in no sink here is refused, naming the parent. A backup that FILE's config would refuse (signed by a key it does not trust, or unsigned beside signed backups there) is not copied, and named. Exits 1 naming each backup and sink not copied. On a terminal, stderr shows the stored bytes copied (or found already there) of every backup into every sink of FILE's repository that lacks it of the total, %, rate and ETA (--progress).",
    examples: [
      ['Take the latest backup and its chain offsite', '$0 copy latest --to-config /etc/rast/backup/offsite.toml'],
      ['Say what would be copied', '$0 copy 20261127T163408Z-3f9a1c --to-config offsite.toml --dry-run'],
    ],
  });

  ids = Option.Rest({ name: 'id', required: 1 });
  toConfig = Option.String('--to-config', { description: 'Config file of the repository to copy into (required)' });
  dryRun = Option.Boolean('--dry-run', false, { description: 'Say what would be copied; copy nothing' });
  progress = progressOption();

  async run(): Promise<number> {
    if (!this.toConfig) throw new UsageError('give the config file of the repository to copy into: --to-config FILE');
    const runtime = await this.context.runtime();
    if (!this.context.runtimeOf) throw new UsageError('copy needs the rast-backup CLI (it loads another config)');
    const target = await this.context.runtimeOf(this.toConfig);
    return runAndReport(this, () =>
      withProgress(runtime.pipeline, { mode: this.progress, json: this.json, stream: this.context.stderr }, () =>
        interruptible((signal) => copyBackups(runtime, target, { backups: this.ids, dryRun: this.dryRun, signal })),
      ),
    );
  }
}
