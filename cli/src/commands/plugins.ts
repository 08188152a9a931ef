import { BaseCommand } from '@rast-backup/core/command';
import { writeJson } from '../Output.js';

export class PluginsCommand extends BaseCommand {
  static override paths = [['plugins']];
  static override usage = BaseCommand.Usage({
    category: 'Introspection',
    description: 'Show the loaded plugins',
    details:
      'Lists every plugin the config and presets load: its version, where it was loaded from, the preset that brought it, whether its config section activates it, and the hooks it taps.',
  });

  async run(): Promise<number> {
    const runtime = await this.context.runtime();
    const plugins = runtime.plugins.map(({ plugin, from, via, active }) => ({
      name: plugin.name,
      version: plugin.version,
      from,
      via,
      configKey: plugin.configKey ?? null,
      active,
      hooks: [...(runtime.pipeline.taps.get(plugin.name) ?? [])],
    }));
    if (this.json) {
      writeJson(this.context.stdout, plugins);
      return 0;
    }
    for (const plugin of plugins) {
      this.out(`${plugin.name}@${plugin.version}  ${plugin.active ? 'active' : `inactive (no [${plugin.configKey}] in the config)`}`);
      this.out(`  from:  ${plugin.from}${plugin.via.length ? ` (via ${plugin.via.join(' → ')})` : ''}`);
      this.out(`  hooks: ${plugin.hooks.join(', ') || 'none'}`);
    }
    return 0;
  }
}
