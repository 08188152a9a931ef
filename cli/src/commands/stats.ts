import { displayPath, repositoryStats, type BackupTotals } from '@rast-backup/core';
import { BaseCommand } from '@rast-backup/core/command';
import { formatTable } from '../TextTable.js';
import { formatBytes, writeJson } from '../Output.js';

export class StatsCommand extends BaseCommand {
  static override paths = [['stats']];
  static override usage = BaseCommand.Usage({
    category: 'Backups',
    description: 'Show what the repository holds, per sink and per source',
    details:
      'For each sink, then for each host and source path, then in total: the number of backups, their size (plaintext bytes of their streams: an incremental counts what it adds) and stored size (after compression and encryption: for a sink what it holds, for a source one copy of each backup, in total every copy in every sink), the number of chains (full backups), the longest chain (the most backups one restore reads), backups whose chain is broken, and the oldest and newest backup. Reads the manifests only (the catalog), never parts or indexes.',
    examples: [
      ['Per sink and per source', '$0 stats'],
      ['As JSON', '$0 stats --json'],
    ],
  });

  async run(): Promise<number> {
    const runtime = await this.context.runtime();
    const stats = await repositoryStats(runtime);
    if (this.json) {
      writeJson(this.context.stdout, stats);
      return 0;
    }
    const columns = (totals: BackupTotals) => ({
      backups: totals.backups,
      size: formatBytes(totals.size),
      stored: formatBytes(totals.storedSize),
      chains: totals.chains,
      longest: totals.longestChain,
      broken: totals.brokenChains,
      oldest: totals.oldest?.id ?? '-',
      newest: totals.newest?.id ?? '-',
    });
    const table = (rows: Array<Record<string, string | number>>) => {
      // Names and paths from the repository (a shared bucket's manifests) reach the terminal only escaped, as \xHH.
      const shown = rows.map((row) =>
        Object.fromEntries(
          Object.entries(row).map(([column, value]) => [column, typeof value === 'number' ? String(value) : displayPath(value)]),
        ),
      );
      return formatTable(shown).trimEnd();
    };
    this.out(table(stats.sinks.map((sink) => ({ sink: sink.sink, location: sink.location, ...columns(sink) }))));
    for (const sink of stats.sinks) {
      if (sink.damaged > 0)
        this.out(
          displayPath(
            `sink ${sink.sink}: ${sink.damaged} backup${sink.damaged === 1 ? '' : 's'} with a damaged manifest, not counted (rast-backup list names them)`,
          ),
        );
      if (sink.unreadable !== null)
        this.out(displayPath(`sink ${sink.sink}: could not be read, its backups are not counted: ${sink.unreadable}`));
    }
    this.out('');
    if (stats.sources.length === 0) this.out('no backups');
    else
      this.out(
        table(
          stats.sources.map((source) => ({
            host: source.host,
            source: source.source,
            format: source.formats.join(','),
            ...columns(source),
            'newest chain': source.newestChain,
          })),
        ),
      );
    const { total } = stats;
    this.out('');
    this.out(
      `total: ${total.backups} backup${total.backups === 1 ? '' : 's'} of ${stats.sources.length} source${stats.sources.length === 1 ? '' : 's'}, ${formatBytes(total.size)} stored as ${formatBytes(total.storedSize)} in ${stats.sinks.length} sink${stats.sinks.length === 1 ? '' : 's'}`,
    );
    return 0;
  }
}
