import { Option } from 'clipanion';
import { backupFilter, displayPath, POINT_IN_TIME_FORMS, summarize } from '@rast-backup/core';
import { BaseCommand } from '@rast-backup/core/command';
import { formatBytes, writeJson } from '../Output.js';
import { formatColumns } from '../TextTable.js';

export class ListCommand extends BaseCommand {
  static override paths = [['list']];
  static override usage = BaseCommand.Usage({
    category: 'Backups',
    description: 'List backups',
    details: `Lists the committed backups of every configured sink, oldest first, with the sinks that hold each (and, when a sink lacks some, a \`behind\` column naming the sinks each is missing from, and a line per such sink: \`rast-backup sync\` copies them), the signature of each (\`signed\` by a trusted key, \`unsigned\` from before signing, \`unchecked\` when signing is off, \`UNAUTHENTICATED\`: refused by restore, verify, ls and info, with the reason below the table), then backups whose manifest is damaged in every sink that holds it (status \`damaged\`: not restorable; \`verify --all\` names the damage, \`delete <id>\` removes them). With --all, also lists what takes space without being a backup: the data of creates that were interrupted before their manifest was committed (status \`incomplete\`). Filters (--tag, --host, --source, --since, --until) combine: a backup is listed when it matches every filter given, and a filter given several times matches any of its values. --since and --until take ${POINT_IN_TIME_FORMS}; both ends are included. With a filter, damaged manifests and (with --all) interrupted data are not listed: their tags, host and source are unknown. A control character in a name, tag or source (from a manifest anyone with write access to a sink could write) is shown as \\xHH; --json keeps strings exact.`,
    examples: [
      ['Backups as JSON', '$0 list --json'],
      ['The backups of /home tagged daily made in the last 7 days', '$0 list --source /home --tag daily --since 7d'],
      ['The backups this host made in March 2026', '$0 list --host "$(hostname)" --since 2026-03-01 --until 2026-03-31'],
      ['Everything that takes space, including interrupted backups', '$0 list --all'],
    ],
  });

  all = Option.Boolean('--all', false, { description: 'Also list the data of interrupted, never-committed backups' });
  tags = Option.Array('--tag', [], { description: 'Only backups carrying this tag (repeatable: any of them)' });
  hosts = Option.Array('--host', [], { description: 'Only backups made by this host (repeatable: any of them)' });
  sources = Option.Array('--source', [], { description: 'Only backups of this source path (repeatable: any of them)' });
  since = Option.String('--since', {
    description: 'Only backups made at or after this date, time or age (2026-03-01, 2026-03-01T12:00, 7d, 12h, 2w)',
  });
  until = Option.String('--until', {
    description: 'Only backups made at or before this date, time or age (a date includes its whole day)',
  });

  async run(): Promise<number> {
    const filter = backupFilter({ tags: this.tags, hosts: this.hosts, sources: this.sources, since: this.since, until: this.until });
    const runtime = await this.context.runtime();
    const readable = await runtime.repository.catalog.readable();
    const shown = (await runtime.repository.catalog.entries())
      .filter((entry) => filter.matches(entry.head))
      .map((entry) => summarize(entry, readable));
    const damaged = new Map<string, { id: string; status: 'damaged'; sinks: string[]; problems: string[] }>();
    for (const manifest of filter.active ? [] : await runtime.repository.catalog.damagedManifests()) {
      const entry = damaged.get(manifest.id) ?? { id: manifest.id, status: 'damaged', sinks: [], problems: [] };
      entry.sinks.push(manifest.sink);
      entry.problems.push(`${manifest.key} in sink ${manifest.sink}: ${manifest.problem}`);
      damaged.set(manifest.id, entry);
    }
    const leftovers = this.all && !filter.active ? await runtime.repository.catalog.leftovers() : [];
    if (this.json) {
      const incomplete = leftovers.map((leftover) => ({
        id: leftover.id,
        status: 'incomplete',
        sinks: [leftover.sink],
        storedSize: leftover.size,
        objects: leftover.objects,
      }));
      writeJson(this.context.stdout, [...shown, ...damaged.values(), ...incomplete]);
      return 0;
    }
    for (const leftover of leftovers) {
      this.context.stderr.write(
        `incomplete: ${displayPath(leftover.id)} in ${displayPath(leftover.sink)}: ${leftover.objects} objects, ${formatBytes(leftover.size)} (never committed; not restorable)\n`,
      );
    }
    const describeDamaged = () => {
      for (const entry of damaged.values())
        this.out(
          displayPath(
            `damaged: ${entry.id}: manifest unreadable (${entry.problems.join('; ')}); not restorable: rast-backup delete ${entry.id} removes it`,
          ),
        );
    };
    if (shown.length === 0) {
      this.out(
        filter.active
          ? displayPath(`no backups match ${filter.description} in ${runtime.repository.catalog.describeSinks()}`)
          : `no backups in ${runtime.repository.catalog.describeSinks()}`,
      );
      describeDamaged();
      return 0;
    }
    const anyBehind = shown.some((summary) => summary.behind.length > 0);
    const columns = ['id', 'created', 'host', 'name', 'source', 'parent', 'size', 'stored', 'tags', 'sinks'];
    columns.push(...(anyBehind ? ['behind'] : []), 'signature');
    const rows = shown.map((summary) => {
      const cells = [
        summary.id,
        summary.created.replace(/\.\d+Z$/, 'Z'),
        summary.host,
        summary.name ?? '',
        summary.source,
        summary.parent ?? 'full',
        formatBytes(summary.size),
        formatBytes(summary.storedSize),
        summary.tags.join(','),
        summary.sinks.join(','),
        ...(anyBehind ? [summary.behind.join(',')] : []),
        summary.signature === 'refused' ? 'UNAUTHENTICATED' : summary.signature,
      ];
      // Strings from the repository (a shared bucket's manifests) reach the terminal only escaped, as \xHH.
      for (let at = 0; at < cells.length; at++) cells[at] = displayPath(cells[at]!);
      return cells;
    });
    this.out(formatColumns(columns, rows).trimEnd());
    for (const summary of shown) if (summary.problem) this.out(displayPath(`unauthenticated: ${summary.problem}`));
    const behind = new Map<string, number>();
    for (const summary of shown) for (const sink of summary.behind) behind.set(sink, (behind.get(sink) ?? 0) + 1);
    for (const [sink, count] of behind)
      this.out(displayPath(`behind: sink ${sink} lacks ${count} backup${count === 1 ? '' : 's'} (rast-backup sync copies them)`));
    describeDamaged();
    return 0;
  }
}
