import { Option } from 'clipanion';
import { describeBackup, displayPath, storedEntry, summarize, type Authentication } from '@rast-backup/core';
import { BaseCommand } from '@rast-backup/core/command';
import { formatBytes, formatEntry, mapped, writeAll, writeJson, writeJsonWith } from '../Output.js';

export class InfoCommand extends BaseCommand {
  static override paths = [['info']];
  static override usage = BaseCommand.Usage({
    category: 'Backups',
    description: 'Show one backup in detail',
    details:
      'Shows the manifest of a backup (id, unique prefix, or latest): its source, chain, transforms, parts, sinks and the exclude patterns it was made with. With --files, also lists its files. Control characters are shown as \\xHH; --json keeps strings exact.',
    examples: [['The latest backup, with its files', '$0 info latest --files']],
  });

  id = Option.String({ name: 'id' });
  files = Option.Boolean('--files', false, { description: 'List the files of the backup' });

  async run(): Promise<number> {
    const runtime = await this.context.runtime();
    const { entry, chain, facts, index } = await describeBackup(runtime, { backup: this.id, files: this.files });
    const { manifest } = entry;
    if (this.json) {
      const value = {
        ...summarize(entry, await runtime.repository.catalog.readable()),
        chain: chain.map((link) => link.id),
        exclude: manifest.exclude ?? [],
        facts,
        manifest,
      };
      if (index) await writeJsonWith(this.context.stdout, value, 'files', mapped(index.all(), storedEntry));
      else writeJson(this.context.stdout, value);
      return 0;
    }
    const lines = [
      `id:          ${manifest.id}`,
      `name:        ${manifest.name ?? ''}`,
      `created:     ${manifest.created} on ${manifest.host}`,
      `source:      ${displayPath(manifest.source.path)} (${manifest.source.kind}${manifest.source.atomic ? ', atomic snapshot' : ', live directory'})`,
      `parent:      ${manifest.parent ?? 'none (full backup)'}`,
      `chain:       ${chain.length} backup(s): ${chain.map((link) => link.id).join(' → ')}`,
      `format:      ${manifest.serializer.format} v${manifest.serializer.version} (${manifest.serializer.plugin})`,
      `transforms:  ${manifest.transforms.map((transform) => `${transform.name} ${JSON.stringify(transform.params)}`).join(', ') || 'none'}`,
      `size:        ${formatBytes(manifest.size)} in ${manifest.parts.length} part(s), stored as ${formatBytes(manifest.storedSize)}`,
      `entries:     ${manifest.index.entries}`,
      `tags:        ${manifest.tags.join(', ')}`,
      `excluded:    ${manifest.exclude?.map((pattern) => JSON.stringify(pattern)).join(', ') || 'nothing'}`,
      `sinks:       ${entry.sinks.join(', ')}`,
      `signature:   ${describeSignature(entry.authentication)}`,
      ...Object.entries(facts).map(([name, value]) => `${`${name}:`.padEnd(12)} ${value}`),
    ];
    // Strings from the repository (a shared bucket's manifests) reach the terminal only escaped, as \xHH.
    this.out(lines.map(displayPath).join('\n'));
    if (index)
      await writeAll(
        this.context.stdout,
        mapped(index.all(), (file) => `${formatEntry(file)}\n`),
      );
    return 0;
  }
}

function describeSignature(authentication: Authentication): string {
  if (authentication.status === 'signed') return `signed by ${authentication.signer.replace(/(.{4})/g, '$1 ').trim()} (trusted)`;
  if (authentication.status === 'unsigned') return 'unsigned (made before manifests were signed)';
  if (authentication.status === 'unchecked') return 'not checked (signing is off)';
  return authentication.problem;
}
