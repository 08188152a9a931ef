import { Option } from 'clipanion';
import { deleteBackup } from '@rast-backup/core';
import { BaseCommand } from '@rast-backup/core/command';
import { writeJson } from '../Output.js';

export class DeleteCommand extends BaseCommand {
  static override paths = [['delete']];
  static override usage = BaseCommand.Usage({
    category: 'Backups',
    description: 'Delete a backup from every sink',
    details: 'Removes the manifest first (the backup stops being listed), then its data. Refuses while another backup depends on it as its parent, and names those backups.',
    examples: [['Delete an old backup', '$0 delete 20261127T163408Z-3f9a1c']],
  });

  id = Option.String({ name: 'id' });

  async run(): Promise<number> {
    const runtime = await this.context.runtime();
    const manifest = await deleteBackup(runtime, this.id);
    if (this.json) writeJson(this.context.stdout, { deleted: manifest.id });
    else this.out(`deleted ${manifest.id}`);
    return 0;
  }
}
