import path from 'node:path';
import { loadConfig, SYSTEM_CONFIG_FILE, type LoadedConfig } from './ConfigLoader.js';
import { configSecretsWarning } from './ConfigSecrets.js';
import { CORE_CONFIG_SHAPE, validateConfig, type BackupSettings } from './ConfigValidator.js';
import { RastError } from './errors.js';
import { Pipeline } from './Pipeline.js';
import type { PluginContext, PresetItem } from './Plugin.js';
import { resolvePlugins, type ResolvedPlugin } from './PluginLoader.js';
import { IndexCache } from './IndexCache.js';
import { ManifestCache } from './ManifestCache.js';
import { Repository } from './Repository.js';
import { stateDirectory } from './StateDirectory.js';
import type { Logger, Sink } from './types.js';
import { configKeyInvalid, configLoadsCodeAsRoot, inConfig, noStorage, pluginApplyFailed, sinkNamedTwice } from './diagnostics/index.js';

/** Everything a command needs: the config in use, the applied plugins, the sinks and the repository. */
export interface Runtime {
  config: LoadedConfig;
  pipeline: Pipeline;
  plugins: Array<ResolvedPlugin & { active: boolean }>;
  sinks: Sink[];
  repository: Repository;
  settings: BackupSettings;
  log: Logger;
  /** Plaintext copies of the indexes this host wrote (for incrementals on write-only hosts). */
  indexCache: IndexCache;
}

export interface RuntimeOptions {
  /** `--config FILE`. */
  configFile?: string;
  cwd?: string;
  environment?: NodeJS.ProcessEnv;
  /** Presets used when the config names none (the CLI passes its default preset). */
  defaultPresets: PresetItem[];
  /** Host state (index and manifest copies); default stateDirectory(environment). */
  stateDirectory?: string;
  /** Directories package names are resolved from besides the config's (the CLI's own). */
  resolveFrom: string[];
  log: Logger;
}

/** Loads the config, resolves plugins and presets, validates everything, then applies the active plugins. */
export async function createRuntime(options: RuntimeOptions): Promise<Runtime> {
  const cwd = options.cwd ?? process.cwd();
  const environment = options.environment ?? process.env;
  const config = await loadConfig({
    flag: options.configFile,
    environment: environment.RAST_BACKUP_CONFIG,
    cwd,
    systemFile: SYSTEM_CONFIG_FILE,
  });
  const configDirectory = config.file ? path.dirname(config.file) : cwd;

  const coreKeys = Object.fromEntries(
    Object.keys(CORE_CONFIG_SHAPE)
      .filter((key) => key in config.data)
      .map((key) => [key, config.data[key]]),
  );
  for (const [key, validator] of Object.entries(CORE_CONFIG_SHAPE)) {
    const errors: string[] = [];
    if (!validator(coreKeys[key], { errors })) throw configKeyInvalid(config.file, key, `${errors[0]?.replace(/^\.: /, '')}`);
  }

  const isRoot = process.getuid?.() === 0;
  if (isRoot && config.origin === 'project' && (coreKeys.plugins !== undefined || coreKeys.presets !== undefined)) {
    throw configLoadsCodeAsRoot(config.file);
  }
  const loaderOptions = { resolveFrom: [configDirectory, ...options.resolveFrom], relativeTo: configDirectory };
  const presets: PresetItem[] = (coreKeys.presets as string[] | undefined) ?? options.defaultPresets;
  // A reference the config names that cannot be loaded is the config's error: name the file and the key.
  const fromConfig = async (key: 'plugins' | 'presets', loading: Promise<ResolvedPlugin[]>) =>
    loading.catch((error: unknown) => {
      if (!(error instanceof RastError)) throw error;
      throw inConfig(config.file, key, error);
    });
  const loadingPresets = resolvePlugins(presets, loaderOptions, 'preset');
  const resolved = [
    ...(await (coreKeys.presets ? fromConfig('presets', loadingPresets) : loadingPresets)),
    ...(await fromConfig('plugins', resolvePlugins((coreKeys.plugins as string[] | undefined) ?? [], loaderOptions, 'plugin'))),
  ];
  const byName = new Map<string, ResolvedPlugin>();
  for (const plugin of resolved) {
    const first = byName.get(plugin.plugin.name);
    if (first) first.defaults = { ...first.defaults, ...plugin.defaults };
    else byName.set(plugin.plugin.name, plugin);
  }
  const unique = [...byName.values()];
  const validated = validateConfig(config.data, config.file, unique);

  const pipeline = new Pipeline();
  let runtime: Runtime | undefined;
  const context: PluginContext = {
    configFile: config.file,
    configDirectory,
    log: options.log,
    runtime: () => {
      if (!runtime) throw new Error('the runtime is not ready while plugins apply: call context.runtime() from a tap');
      return runtime;
    },
  };
  for (const { plugin, options: pluginOptions } of validated.active) {
    try {
      await plugin.apply(pipeline, pluginOptions as never, context);
    } catch (error) {
      throw pluginApplyFailed(plugin.name, error);
    }
  }
  const sinks = await pipeline.hooks.sinks.promise([]);
  if (sinks.length === 0) {
    throw noStorage(config.file);
  }
  const names = new Set<string>();
  for (const sink of sinks) {
    if (names.has(sink.name)) throw sinkNamedTwice(config.file, sink.name);
    names.add(sink.name);
  }
  const exposed = await configSecretsWarning(
    config,
    validated.active.map(({ plugin }) => plugin),
  );
  if (exposed) options.log.warn(exposed);
  const activeNames = new Set(validated.active.map((plugin) => plugin.plugin.name));
  const state = options.stateDirectory ?? stateDirectory(environment);
  const indexCache = new IndexCache(state);
  const repository = new Repository(
    sinks,
    (name) => pipeline.hooks.untransform.get(name)?.call(),
    options.log,
    validated.backup.concurrency,
    new ManifestCache(state),
    indexCache,
    () => pipeline.hooks.verifier.promise(),
  );
  runtime = {
    config,
    pipeline,
    plugins: unique.map((plugin) => ({ ...plugin, active: activeNames.has(plugin.plugin.name) })),
    sinks,
    repository,
    settings: validated.backup,
    log: options.log,
    indexCache,
  };
  return runtime;
}
