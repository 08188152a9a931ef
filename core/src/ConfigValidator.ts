import { closest } from 'fastest-levenshtein';
import * as t from 'typanion';
import type { ConfigData } from './ConfigLoader.js';
import { excludePatternProblem } from './Exclusion.js';
import type { OptionsShape } from './Plugin.js';
import type { ResolvedPlugin } from './PluginLoader.js';
import { configKeyInvalid } from './diagnostics/index.js';

/** The core's own keys. */
export const CORE_CONFIG_SHAPE = {
  /** Plugins to load besides the presets': npm names, short names or relative paths. */
  plugins: t.isOptional(t.isArray(t.isString())),
  /** Presets to load instead of the default one. */
  presets: t.isOptional(t.isArray(t.isString())),
} satisfies OptionsShape;

const isExcludePattern = t.makeValidator<string>({
  test: (value, state) => {
    const problem = excludePatternProblem(value);
    if (!problem) return true;
    state?.errors?.push(`pattern ${JSON.stringify(value)} ${problem}`);
    return false;
  },
});

/** `[backup]`: how streams are cut and stored, and what is left out. */
export const BACKUP_CONFIG_SHAPE = {
  /** Plaintext bytes per part, in MiB. */
  part_size_mib: t.isOptional(t.cascade(t.isNumber(), [t.isInteger(), t.isInInclusiveRange(1, 1024)])),
  /** Parts transformed and stored at once. */
  concurrency: t.isOptional(t.cascade(t.isNumber(), [t.isInteger(), t.isInInclusiveRange(1, 64)])),
  /** Run `sync` after each successful create, bringing every sink in step. */
  sync_after_create: t.isOptional(t.isBoolean()),
  /** Exclude patterns (the syntax of `restore --include`, relative to the source) for every `create`, before its `--exclude`s. */
  exclude: t.isOptional(t.isArray(t.cascade(t.isString(), [isExcludePattern]))),
} satisfies OptionsShape;

export interface BackupSettings {
  partSize: number;
  concurrency: number;
  /** `sync_after_create`: bring every sink in step after each successful create. */
  syncAfterCreate: boolean;
  /** `[backup] exclude`: patterns every create leaves out. */
  exclude: string[];
}

export interface ValidatedConfig {
  plugins: string[];
  presets: string[] | undefined;
  backup: BackupSettings;
  /** Options per active plugin, in load order. */
  active: Array<ResolvedPlugin & { options: Record<string, unknown> }>;
}

const invalid = configKeyInvalid;

function suggestion(key: string, candidates: string[]): string {
  if (candidates.length === 0) return '';
  return ` (did you mean ${closest(key, candidates)}?)`;
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks one table against a shape: unknown keys, then each key's validator. */
function validateTable(where: string, tableKey: string, table: unknown, shape: OptionsShape): Record<string, unknown> {
  if (!isTable(table)) throw invalid(where, tableKey, `expected a table, got ${JSON.stringify(table)}`);
  const known = Object.keys(shape);
  for (const [key, value] of Object.entries(table)) {
    const validator = shape[key];
    const fullKey = tableKey ? `${tableKey}.${key}` : key;
    if (!validator) throw invalid(where, fullKey, `unknown key${suggestion(key, known)}`);
    const errors: string[] = [];
    if (!validator(value, { errors })) throw invalid(where, fullKey, errors[0]?.replace(/^\.: /, '') ?? 'invalid value');
  }
  for (const [key, validator] of Object.entries(shape)) {
    if (key in table) continue;
    if (!validator(undefined, { errors: [] })) throw invalid(where, tableKey ? `${tableKey}.${key}` : key, 'missing (required)');
  }
  return table;
}

function lookup(data: ConfigData, dottedKey: string): unknown {
  let value: unknown = data;
  for (const part of dottedKey.split('.')) {
    if (!isTable(value)) return undefined;
    value = value[part];
  }
  return value;
}

/**
 * Validates the whole config (the core's keys and every loaded plugin's table) before any plugin applies.
 * Every error names the file and the dotted TOML key.
 */
export function validateConfig(data: ConfigData, file: string | null, plugins: ResolvedPlugin[]): ValidatedConfig {
  const where = file ?? 'embedded default config';
  const owners = new Map<string, OptionsShape>([['backup', BACKUP_CONFIG_SHAPE]]);
  for (const { plugin } of plugins) if (plugin.configKey) owners.set(plugin.configKey, plugin.options ?? {});

  const walk = (table: Record<string, unknown>, prefix: string) => {
    for (const [key, value] of Object.entries(table)) {
      const fullKey = prefix ? `${prefix}.${key}` : key;
      if (!prefix && key in CORE_CONFIG_SHAPE) {
        validateTable(where, '', { [key]: value }, CORE_CONFIG_SHAPE);
        continue;
      }
      const shape = owners.get(fullKey);
      if (shape) {
        validateTable(where, fullKey, value, shape);
        continue;
      }
      const children = [...owners.keys()].filter((owner) => owner.startsWith(`${fullKey}.`));
      if (children.length > 0) {
        if (!isTable(value)) throw invalid(where, fullKey, `expected a table, got ${JSON.stringify(value)}`);
        walk(value, fullKey);
        continue;
      }
      const siblings = [
        ...new Set(
          [...owners.keys(), ...Object.keys(CORE_CONFIG_SHAPE)]
            .filter((owner) => (prefix ? owner.startsWith(`${prefix}.`) : true))
            .map((owner) => owner.slice(prefix ? prefix.length + 1 : 0).split('.')[0]!),
        ),
      ];
      throw invalid(where, fullKey, `unknown key: no loaded plugin reads it${suggestion(key, siblings)}`);
    }
  };
  walk(data, '');

  const backup = (lookup(data, 'backup') ?? {}) as t.InferType<ReturnType<typeof t.isPartial<typeof BACKUP_CONFIG_SHAPE>>>;
  const active = plugins.flatMap((resolved) => {
    const table = resolved.plugin.configKey ? lookup(data, resolved.plugin.configKey) : undefined;
    if (resolved.plugin.activation === 'configured' && table === undefined) return [];
    const options = { ...resolved.defaults, ...((table as Record<string, unknown>) ?? {}) };
    const label = resolved.via.length > 0 ? `${where} with the defaults of preset ${resolved.via.join(' → ')}` : where;
    validateTable(label, resolved.plugin.configKey ?? resolved.plugin.name, options, resolved.plugin.options ?? {});
    return [{ ...resolved, options }];
  });
  return {
    plugins: (data.plugins as string[] | undefined) ?? [],
    presets: data.presets as string[] | undefined,
    backup: {
      partSize: (backup.part_size_mib ?? 16) * 1024 * 1024,
      concurrency: backup.concurrency ?? 3,
      syncAfterCreate: backup.sync_after_create ?? false,
      exclude: backup.exclude ?? [],
    },
    active,
  };
}
