import { Option } from 'clipanion';
import Table from 'cli-table3';
import { displayPath, summarize } from '@rast-backup/core';
import { BaseCommand } from '@rast-backup/core/command';
import { formatBytes, writeJson } from '../Output.js';

export class ListCommand extends BaseCommand {
  static override paths = [['list']];
  static override usage = BaseCommand.Usage({
    category: 'Backups',
    description: 'List backups',
    details: 'Lists the committed backups of every configured sink, oldest first, with the sinks that hold each. With --all, also lists what takes space without being a backup: the data of creates that were interrupted before their manifest was committed (status `incomplete`).',
    examples: [
      ['Backups as JSON', '$0 list --json'],
      ['Everything that takes space, including interrupted backups', '$0 list --all'],
    ],
  });

  all = Option.Boolean('--all', false, { description: 'Also list the data of interrupted, never-committed backups' });

  async run(): Promise<number> {
    const runtime = await this.context.runtime();
    const shown = (await runtime.repository.catalog()).map(summarize);
    const leftovers = this.all ? await runtime.repository.leftovers() : [];
    if (this.json) {
      const incomplete = leftovers.map((leftover) => ({ id: leftover.id, status: 'incomplete', sinks: [leftover.sink], storedSize: leftover.size, objects: leftover.objects }));
      writeJson(this.context.stdout, [...shown, ...incomplete]);
      return 0;
    }
    for (const leftover of leftovers) {
      this.context.stderr.write(`incomplete: ${leftover.id} in ${leftover.sink}: ${leftover.objects} objects, ${formatBytes(leftover.size)} (never committed; not restorable)\n`);
    }
    if (shown.length === 0) {
      this.out(`no backups in ${runtime.repository.describeSinks()}`);
      return 0;
    }
    const table = new Table({ head: ['id', 'created', 'name', 'source', 'parent', 'size', 'stored', 'tags', 'sinks'], style: { head: [], border: [] } });
    for (const summary of shown) {
      table.push([summary.id, summary.created.replace(/\.\d+Z$/, 'Z'), summary.name ?? '', displayPath(summary.source), summary.parent ?? 'full', formatBytes(summary.size), formatBytes(summary.storedSize), summary.tags.join(','), summary.sinks.join(',')]);
    }
    this.out(table.toString());
    return 0;
  }
}
