import { Option } from 'clipanion';
import { createBackup, displayPath, isRastError, summarize, syncRepository, type CatalogEntry, type SyncReport } from '@rast-backup/core';
import { BaseCommand, progressOption, withProgress } from '@rast-backup/core/command';
import { interruptible } from '../Interrupts.js';
import { formatBytes, writeJson } from '../Output.js';

export class CreateCommand extends BaseCommand {
  static override paths = [['create']];
  static override usage = BaseCommand.Usage({
    category: 'Backups',
    description: 'Back up a directory or btrfs subvolume',
    details:
      "Takes a consistent view of PATH, serializes it, and stores it in every configured sink. With `[backup] sync_after_create = true`, then runs `sync` (the backup is made whatever its outcome; a sync failure is reported after it, exit 1, and --json adds its report as `sync`). With --parent the backup holds only what changed since that backup. The backup is listed only once every part is stored and its manifest committed. On SIGINT (Ctrl-C) or SIGTERM before that, it stops, removes the parts it wrote and its snapshot, prints one line (RB025) and exits 130 or 143; a second signal exits at once, leaving what a killed create leaves (list --all, prune). On a terminal, stderr shows the bytes stored of an estimated total (~: the tree measured as du does for a full backup, the source's last incremental for an incremental), %, rate and ETA (--progress).",
    examples: [
      ['A full backup', '$0 create /home --name "Full Backup"'],
      ['An incremental backup on top of the latest one of the same path', '$0 create /home --parent latest --tag daily'],
    ],
  });

  source = Option.String({ name: 'path' });
  name = Option.String('--name', { description: 'A name for the backup' });
  parent = Option.String('--parent', { description: 'Make an incremental backup on top of this backup (id, unique prefix, or latest)' });
  tags = Option.Array('--tag', [], { description: 'A tag (repeatable)' });
  progress = progressOption();

  async run(): Promise<number> {
    const runtime = await this.context.runtime();
    const manifest = await withProgress(runtime.pipeline, { mode: this.progress, json: this.json, stream: this.context.stderr }, () =>
      interruptible((signal) =>
        createBackup(runtime, { path: this.source, name: this.name, tags: this.tags, parent: this.parent, signal }),
      ),
    );
    // [backup] sync_after_create: the sinks brought in step (backups an outage left behind); a failure is reported after the backup.
    let synced: SyncReport | undefined;
    let syncFailure: unknown;
    if (runtime.settings.syncAfterCreate) {
      try {
        synced = await interruptible((signal) => syncRepository(runtime, { signal }));
      } catch (error) {
        syncFailure = error;
        if (isRastError(error) && error.facts.report) synced = error.facts.report as SyncReport;
      }
    }
    const entry: CatalogEntry = {
      manifest,
      sinks: runtime.sinks.map((sink) => sink.name),
      authentication: manifest.signer ? { status: 'signed', signer: manifest.signer.fingerprint } : { status: 'unchecked' },
    };
    if (this.json) writeJson(this.context.stdout, { ...summarize(entry), ...(synced ? { sync: synced } : {}) });
    else {
      const kind = manifest.parent ? `incremental on ${displayPath(manifest.parent)}` : 'full';
      this.out(
        `${manifest.id}  ${kind}, ${manifest.index.entries} entries, ${formatBytes(manifest.size)} stored as ${formatBytes(manifest.storedSize)} in ${entry.sinks.join(', ')}`,
      );
      if (synced && synced.copied > 0)
        this.out(
          `sync: ${synced.copied} ${synced.copied === 1 ? 'copy' : 'copies'} made into sinks that lacked them (${formatBytes(synced.bytes)})`,
        );
    }
    return syncFailure === undefined ? 0 : this.report(syncFailure);
  }
}
