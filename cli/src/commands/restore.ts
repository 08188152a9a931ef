import { Option, UsageError } from 'clipanion';
import { displayPath, restoreBackup } from '@rast-backup/core';
import { BaseCommand, progressOption, withProgress } from '@rast-backup/core/command';
import { interruptible } from '../Interrupts.js';
import { formatBytes, writeJson } from '../Output.js';

export class RestoreCommand extends BaseCommand {
  static override paths = [['restore']];
  static override usage = BaseCommand.Usage({
    category: 'Backups',
    description: 'Restore a backup into a directory',
    details:
      "Restores the backup (id, unique prefix, or latest) and the chain it depends on into DEST, which must not exist or be empty, and may not lie inside a local repository or a snapshot directory (inside the backed-up source it may, with a warning). --include restores only matching paths: paths relative to the backup root (a leading / is allowed) or globs; a directory brings its whole subtree; several patterns may follow one --include; only the parts of the repository that hold the selected files are fetched (tar and btrfs-send backups), and no chain is replayed. Nothing is ever written outside DEST. Not root, the restored entries belong to the restoring user: one warning, exit 0 (setting owners needs root). What else the destination cannot hold (device nodes when not root, xattrs or ACLs the filesystem refuses) is listed, and the restore then exits 1 unless --ignore-unrestorable is given. A btrfs-send backup restores with btrfs receive onto btrfs as root, and with the user-space receiver onto any other filesystem or as another user. On SIGINT (Ctrl-C) or SIGTERM the restore stops and removes what it wrote (DEST itself if it created it; DEST is empty again otherwise), prints one line (RB025) and exits 130 or 143, so that running it again starts afresh; a second signal exits at once and leaves what was written. A restore that fails otherwise (a full disk) leaves what it restored so far: empty DEST before running it again. On a terminal, stderr shows the bytes fetched of the chain's size (no total with --include), %, rate and ETA (--progress).",
    examples: [
      ['Restore everything', '$0 restore latest /mnt/restore'],
      ['Restore one file and one directory', '$0 restore 20261127T1634 /tmp/r --include "/etc/fstab" "/home/alice/*"'],
    ],
  });

  id = Option.String({ name: 'id' });
  destination = Option.String({ name: 'dest' });
  include = Option.Array('--include', [], {
    description: 'Restore only paths matching these patterns (several may follow one flag; none may be empty)',
  });
  ignoreUnrestorable = Option.Boolean('--ignore-unrestorable', false, {
    description:
      'Exit 0 even when some content could not be restored (device nodes without root, xattrs the destination refuses); it is still listed as warnings',
  });
  progress = progressOption();
  more = Option.Rest();

  async run(): Promise<number> {
    if (this.more.length > 0 && this.include.length === 0) throw new UsageError(`unexpected arguments: ${this.more.join(' ')}`);
    const runtime = await this.context.runtime();
    const include = [...this.include, ...this.more];
    const report = await withProgress(runtime.pipeline, { mode: this.progress, json: this.json, stream: this.context.stderr }, () =>
      interruptible((signal) =>
        restoreBackup(runtime, {
          backup: this.id,
          destination: this.destination,
          include,
          ignoreUnrestorable: this.ignoreUnrestorable,
          signal,
        }),
      ),
    );
    for (const skipped of report.skipped) this.context.stderr.write(`rast-backup: warning: not restored: ${displayPath(skipped)}\n`);
    if (this.json) writeJson(this.context.stdout, report);
    else
      this.out(displayPath(`restored ${report.backup} into ${this.destination}: ${report.entries} entries, ${formatBytes(report.bytes)}`));
    return 0;
  }
}
