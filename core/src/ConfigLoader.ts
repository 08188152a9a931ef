import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import TOML from '@ltd/j-toml';
import { cosmiconfig } from 'cosmiconfig';
import { RastError } from './errors.js';
import { configSyntax, configUnreadable } from './diagnostics/index.js';

export type ConfigData = Record<string, unknown>;

/** Where the config in use came from, in the order they are tried. */
export type ConfigOrigin = 'flag' | 'environment' | 'project' | 'system' | 'default';

export interface LoadedConfig {
  /** Absolute path of the file, or null for the embedded default. */
  file: string | null;
  origin: ConfigOrigin;
  data: ConfigData;
}

export interface ConfigLocations {
  /** `--config FILE`. */
  flag?: string;
  /** `RAST_BACKUP_CONFIG`. */
  environment?: string;
  /** Directory the project search starts from. */
  cwd: string;
  /** The system file, `/etc/rast/backup/config.toml`. */
  systemFile: string;
}

export const SYSTEM_CONFIG_FILE = '/etc/rast/backup/config.toml';

/** Project config files, searched for in the current directory. TOML and JSON only: never code. */
const PROJECT_SEARCH_PLACES = ['rast-backup.config.toml', '.rast-backuprc.toml', '.rast-backuprc.json', 'rast-backup.config.json'];

/** The embedded default: a local repository, default compression, no encryption. */
export function embeddedDefaultConfig(environment: NodeJS.ProcessEnv = process.env, isRoot = process.getuid?.() === 0): ConfigData {
  const dataHome = environment.XDG_DATA_HOME || path.join(environment.HOME || homedir(), '.local', 'share');
  const repository = isRoot ? '/var/lib/rast/backups' : path.join(dataHome, 'rast-backup', 'backups');
  return { storage: { local: { path: repository } } };
}

export function parseConfigText(text: string, file: string): ConfigData {
  if (file.endsWith('.json')) {
    try {
      const value = JSON.parse(text);
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('the top level is not an object');
      return value;
    } catch (error) {
      throw configSyntax(file, 'JSON', (error as Error).message);
    }
  }
  try {
    // Integers beyond 2^53 come as bigint and become (inexact) numbers, so that range checks name the key.
    return toPlain(TOML.parse(text, { joiner: '\n', bigint: Number.MAX_SAFE_INTEGER })) as ConfigData;
  } catch (error) {
    const message = (error as Error).message.split('\n')[0];
    throw configSyntax(file, 'TOML', message!);
  }
}

/** j-toml returns null-prototype tables (and bigints for huge integers); make ordinary objects and numbers of them. */
function toPlain(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map(toPlain);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, toPlain(inner)]));
  }
  return value;
}

async function readConfigFile(file: string, origin: ConfigOrigin): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const via = origin === 'flag' ? '--config' : origin === 'environment' ? 'RAST_BACKUP_CONFIG' : 'config';
    throw configUnreadable(file, via, error);
  }
  return { file, origin, data: parseConfigText(text, file) };
}

/**
 * Finds and parses the config, in this order: `--config`, `RAST_BACKUP_CONFIG`, a project config in the
 * current directory, the system file, the embedded default.
 */
export async function loadConfig(locations: ConfigLocations): Promise<LoadedConfig> {
  if (locations.flag) return readConfigFile(path.resolve(locations.cwd, locations.flag), 'flag');
  if (locations.environment) return readConfigFile(path.resolve(locations.cwd, locations.environment), 'environment');

  const explorer = cosmiconfig('rast-backup', {
    searchPlaces: PROJECT_SEARCH_PLACES,
    searchStrategy: 'none',
    loaders: {
      '.toml': (file: string, text: string) => parseConfigText(text, file),
      '.json': (file: string, text: string) => parseConfigText(text, file),
    },
  });
  const found = await explorer.search(locations.cwd);
  if (found) return { file: found.filepath, origin: 'project', data: (found.config ?? {}) as ConfigData };

  try {
    return await readConfigFile(locations.systemFile, 'system');
  } catch (error) {
    if (error instanceof RastError && error.facts.missing) {
      return { file: null, origin: 'default', data: embeddedDefaultConfig() };
    }
    throw error;
  }
}
