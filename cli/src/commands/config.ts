import { BaseCommand } from '@rast-backup/core/command';
import { writeJson } from '../Output.js';
import { maskSecrets, maskUrlPasswords } from '../SecretMask.js';

export class ConfigCommand extends BaseCommand {
  static override paths = [['config']];
  static override usage = BaseCommand.Usage({
    category: 'Introspection',
    description: 'Show which config file is used and the resolved settings',
    details:
      'Tries --config, then RAST_BACKUP_CONFIG, then rast-backup.config.toml / .rast-backuprc.toml / .rast-backuprc.json / rast-backup.config.json in the current directory, then /etc/rast/backup/config.toml, then the embedded default. Secrets are masked: values of keys named like secret, password or passphrase, every value of a headers table, and the password of every URL.',
  });

  async run(): Promise<number> {
    const runtime = await this.context.runtime();
    const { config } = runtime;
    const resolved = {
      file: config.file,
      origin: config.origin,
      settings: maskSecrets(config.data),
      backup: runtime.settings,
      sinks: runtime.sinks.map((sink) => ({ name: sink.name, location: maskUrlPasswords(sink.location) })),
      plugins: runtime.plugins.filter((plugin) => plugin.active).map(({ plugin }) => plugin.name),
    };
    if (this.json) writeJson(this.context.stdout, resolved);
    else {
      this.out(`config: ${config.file ?? 'embedded default'} (${config.origin})`);
      this.out(JSON.stringify({ ...resolved, file: undefined, origin: undefined }, null, 2));
    }
    return 0;
  }
}
