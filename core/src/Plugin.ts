import type * as t from 'typanion';
import type { Pipeline } from './Pipeline.js';
import type { Runtime } from './Runtime.js';
import type { Logger } from './types.js';

/** The typanion validators of a plugin's options table, key by key (every key should be optional). */
export type OptionsShape = Record<string, t.StrictValidator<unknown, unknown> | t.LooseValidator<unknown, unknown>>;

export type InferOptions<S extends OptionsShape> = { [K in keyof S]: t.InferType<S[K]> };

export interface PluginContext {
  /** The config file in use, or null for the embedded default. */
  configFile: string | null;
  /** Directory that relative paths in the config are resolved against. */
  configDirectory: string;
  log: Logger;
  /**
   * The runtime, once every plugin has applied: for taps that run operations themselves (retention's
   * prune after create). Throws when called during `apply`.
   */
  runtime(): Runtime;
}

/**
 * The plugin contract. A plugin taps the pipeline's hooks in `apply` and may contribute CLI commands.
 * Options come from the TOML table named by `configKey`, validated with `options` before any plugin applies.
 */
export interface Plugin<S extends OptionsShape = OptionsShape> {
  /** Package name (`@rast-backup/plugin-local`, `rast-backup-plugin-foo`). */
  name: string;
  version: string;
  /** Dotted path of the TOML table holding this plugin's options (`storage.local`, `s3`). */
  configKey?: string;
  /** `always`: applied whenever loaded. `configured`: applied only when its table is in the config. */
  activation?: 'always' | 'configured';
  options?: S;
  /** Keys of its options table that hold secrets (`secret_access_key`): a config file setting them must be private (see secretFileExposure), else a warning. */
  secrets?: string[];
  apply(pipeline: Pipeline, options: InferOptions<S>, context: PluginContext): void | Promise<void>;
  /** Clipanion command classes this plugin adds to the CLI. */
  commands?: Array<new () => unknown>;
}

/** A reference to a plugin or preset: a loaded object, or a name or path that the loader resolves. */
export type PluginReference = Plugin | Preset | string;

/** A preset entry: a plugin or preset, optionally with default options (the config overrides them). */
export type PresetItem = PluginReference | [PluginReference, Record<string, unknown>];

/** A named bundle of plugins with default options, flattened depth-first in the order written. */
export interface Preset {
  kind: 'preset';
  name: string;
  plugins: PresetItem[];
}

export function definePlugin<S extends OptionsShape = Record<never, never>>(plugin: Plugin<S>): Plugin<S> {
  return plugin;
}

export function definePreset(preset: Omit<Preset, 'kind'>): Preset {
  return { kind: 'preset', ...preset };
}

export function isPreset(value: unknown): value is Preset {
  return typeof value === 'object' && value !== null && (value as Preset).kind === 'preset';
}

export function isPlugin(value: unknown): value is Plugin {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Plugin).name === 'string' &&
    typeof (value as Plugin).apply === 'function'
  );
}
