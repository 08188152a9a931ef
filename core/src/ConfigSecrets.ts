import type { LoadedConfig } from './ConfigLoader.js';
import type { Plugin } from './Plugin.js';
import { secretFileExposure } from './SecretFile.js';

/** The secret keys (`s3.secret_access_key`) that the config file sets for these plugins. */
function secretKeys(config: LoadedConfig, plugins: Plugin[]): string[] {
  return plugins.flatMap((plugin) => {
    if (!plugin.configKey || !plugin.secrets) return [];
    let table: unknown = config.data;
    for (const part of plugin.configKey.split('.')) table = (table as Record<string, unknown> | undefined)?.[part];
    if (typeof table !== 'object' || table === null) return [];
    return plugin.secrets.filter((key) => key in table).map((key) => `${plugin.configKey}.${key}`);
  });
}

/** A warning when the config file sets a plugin's secret and others (or a group but rast-backup) may read it. */
export async function configSecretsWarning(config: LoadedConfig, plugins: Plugin[]): Promise<string | undefined> {
  const keys = secretKeys(config, plugins);
  if (!config.file || keys.length === 0) return undefined;
  const exposure = await secretFileExposure(config.file).catch(() => undefined);
  return exposure && `the config sets ${keys.join(', ')}, but ${exposure}`;
}
