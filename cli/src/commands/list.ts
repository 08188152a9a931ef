import { Option } from 'clipanion';
import Table from 'cli-table3';
import { summarize } from '@rast-backup/core';
import { BaseCommand } from '../BaseCommand.js';
import { formatBytes, writeJson } from '../Output.js';

export class ListCommand extends BaseCommand {
  static override paths = [['list']];
  static override usage = BaseCommand.Usage({
    category: 'Backups',
    description: 'List backups',
    details: 'Lists the committed backups of every configured sink, oldest first, with the sinks that hold each. Without --all, only the 20 newest are shown.',
    examples: [['All backups as JSON', '$0 list --all --json']],
  });

  all = Option.Boolean('--all', false, { description: 'Show every backup, not only the 20 newest' });

  async run(): Promise<number> {
    const runtime = await this.context.runtime();
    const summaries = (await runtime.repository.catalog()).map(summarize);
    const shown = this.all ? summaries : summaries.slice(-20);
    if (this.json) {
      writeJson(this.context.stdout, shown);
      return 0;
    }
    if (shown.length === 0) {
      this.out(`no backups in ${runtime.repository.describeSinks()}`);
      return 0;
    }
    const table = new Table({ head: ['id', 'created', 'name', 'source', 'parent', 'size', 'stored', 'tags', 'sinks'], style: { head: [], border: [] } });
    for (const summary of shown) {
      table.push([summary.id, summary.created.replace(/\.\d+Z$/, 'Z'), summary.name ?? '', summary.source, summary.parent ?? 'full', formatBytes(summary.size), formatBytes(summary.storedSize), summary.tags.join(','), summary.sinks.join(',')]);
    }
    this.out(table.toString());
    if (!this.all && summaries.length > shown.length) this.out(`(${summaries.length - shown.length} older backups not shown: use --all)`);
    return 0;
  }
}
