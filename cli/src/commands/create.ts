import { Option } from 'clipanion';
import {
  createBackup,
  displayPath,
  dryRunCreate,
  headOf,
  isRastError,
  summarize,
  syncRepository,
  type CatalogEntry,
  type DryRun,
  type SyncReport,
} from '@rast-backup/core';
import { BaseCommand, progressOption, withProgress } from '@rast-backup/core/command';
import { excludePatterns } from '../ExcludePatterns.js';
import { interruptible } from '../Interrupts.js';
import { formatBytes, writeJson } from '../Output.js';

export class CreateCommand extends BaseCommand {
  static override paths = [['create']];
  static override usage = BaseCommand.Usage({
    category: 'Backups',
    description: 'Back up a directory or btrfs subvolume',
    details:
      "Takes a consistent view of PATH, serializes it, and stores it in every configured sink. With `[backup] sync_after_create = true`, then runs `sync` (the backup is made whatever its outcome; a sync failure is reported after it, exit 1, and --json adds its report as `sync`). With --parent the backup holds only what changed since that backup. The backup is listed only once every part is stored and its manifest committed. On SIGINT (Ctrl-C) or SIGTERM before that, it stops, removes the parts it wrote and its snapshot, prints one line (RB025) and exits 130 or 143; a second signal exits at once, leaving what a killed create leaves (list --all, prune). On a terminal, stderr shows the bytes stored of an estimated total (~: the tree measured as du does for a full backup, the source's last incremental for an incremental), %, rate and ETA (--progress).\n\nExclude patterns (`[backup] exclude` in the config, then --exclude and --exclude-file) have the syntax of `restore --include`, relative to PATH: `cache` is PATH/cache, `**/*.log` any .log file at any depth; a pattern that matches a directory leaves out everything below it. A directory source never reads what is excluded; a btrfs source removes it from a writable snapshot before making it read-only and sending it. The patterns are recorded in the manifest (`info` shows them); one that matched nothing gets a warning.\n\n--dry-run tells what the backup would hold (regular files and bytes of content to store; for an incremental, the parent it would use) without writing to any sink: a directory is walked (names and lstat only, no content read); a btrfs subvolume is snapshotted, sent with `btrfs send --no-data` (metadata only) and counted, and the snapshot removed.",
    examples: [
      ['A full backup', '$0 create /home --name "Full Backup"'],
      ['An incremental backup on top of the latest one of the same path', '$0 create /home --parent latest --tag daily'],
      ['Leave out caches and logs', '$0 create /home --exclude "*/.cache" --exclude "**/*.log"'],
      ['What would the next incremental store?', '$0 create /home --parent latest --dry-run'],
    ],
  });

  source = Option.String({ name: 'path' });
  name = Option.String('--name', { description: 'A name for the backup' });
  parent = Option.String('--parent', { description: 'Make an incremental backup on top of this backup (id, unique prefix, or latest)' });
  tags = Option.Array('--tag', [], { description: 'A tag (repeatable)' });
  progress = progressOption();
  exclude = Option.Array('--exclude', [], { description: 'Leave out paths matching this pattern, relative to PATH (repeatable)' });
  excludeFiles = Option.Array('--exclude-file', [], {
    description: 'Read exclude patterns from FILE, one a line; blank lines and # comments ignored (repeatable)',
  });
  dryRun = Option.Boolean('--dry-run', false, { description: 'Tell what would be backed up; write nothing, keep no snapshot' });

  async run(): Promise<number> {
    const exclude = await excludePatterns(this.exclude, this.excludeFiles);
    const runtime = await this.context.runtime();
    if (this.dryRun) {
      const dryRun = await interruptible((signal) =>
        dryRunCreate(runtime, { path: this.source, name: this.name, tags: this.tags, parent: this.parent, exclude, signal }),
      );
      if (this.json) writeJson(this.context.stdout, dryRun);
      else this.out(describeDryRun(dryRun));
      return 0;
    }
    const manifest = await withProgress(runtime.pipeline, { mode: this.progress, json: this.json, stream: this.context.stderr }, () =>
      interruptible((signal) =>
        createBackup(runtime, { path: this.source, name: this.name, tags: this.tags, parent: this.parent, exclude, signal }),
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
      head: headOf(manifest),
      parts: manifest.parts.length,
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

function describeDryRun(dryRun: DryRun): string {
  const kind = dryRun.parent ? `an incremental on ${dryRun.parent}` : 'a full backup';
  const files = dryRun.files === null ? 'files unknown' : `${dryRun.files} ${dryRun.files === 1 ? 'file' : 'files'}`;
  const how = dryRun.counted === 'survey' ? 'content to store' : 'serialized, counted';
  const lines = [
    `dry run: ${displayPath(dryRun.source)} would be backed up as ${kind} (${dryRun.kind} source, ${dryRun.format})`,
    `  ${files}, ${formatBytes(dryRun.bytes)} of ${how}`,
  ];
  if (dryRun.exclude.length > 0)
    lines.push(
      `  excluded: ${dryRun.exclude.map((pattern) => JSON.stringify(pattern)).join(', ')} (${dryRun.excludedEntries} ${dryRun.excludedEntries === 1 ? 'entry' : 'entries'} left out)`,
    );
  lines.push(`  nothing was written to ${dryRun.sinks.join(', ')}; no snapshot was kept`);
  return lines.join('\n');
}
