import { Option } from 'clipanion';
import { deleteBackup, deleteLeftover, displayPath, ErrorCode, RastError } from '@rast-backup/core';
import { BaseCommand } from '@rast-backup/core/command';
import { writeJson } from '../Output.js';

export class DeleteCommand extends BaseCommand {
  static override paths = [['delete']];
  static override usage = BaseCommand.Usage({
    category: 'Backups',
    description: 'Delete a backup from every sink',
    details:
      'Removes the manifest first (the backup stops being listed), then its data. Refuses while another backup depends on it as its parent, and names those backups. Given the full id of a leftover shown by `list --all` (an interrupted create or delete), removes its data; given the full id of a backup that `list` shows as damaged (its manifest unreadable), removes that manifest and its data.',
    examples: [['Delete an old backup', '$0 delete 20261127T163408Z-3f9a1c']],
  });

  id = Option.String({ name: 'id' });

  async run(): Promise<number> {
    const runtime = await this.context.runtime();
    let manifest;
    try {
      manifest = await deleteBackup(runtime, this.id);
    } catch (error) {
      if (!(error instanceof RastError) || error.code !== ErrorCode.BACKUP_NOT_FOUND) throw error;
      const leftover = await deleteLeftover(runtime, this.id).catch((failure: unknown) => {
        throw failure instanceof RastError && failure.code === ErrorCode.BACKUP_NOT_FOUND ? error : failure;
      });
      if (this.json) writeJson(this.context.stdout, { deleted: leftover.id, leftover: true });
      else
        this.out(
          `deleted ${leftover.damagedManifest ? `${displayPath(leftover.id)}, whose manifest was damaged` : `the leftover data of ${displayPath(leftover.id)}`}: ${leftover.objects} objects in ${leftover.sinks.join(', ')}`,
        );
      return 0;
    }
    if (this.json) writeJson(this.context.stdout, { deleted: manifest.id });
    else this.out(`deleted ${displayPath(manifest.id)}`);
    return 0;
  }
}
