/** @rast-backup/core: the pipeline's hooks, the plugin contract, config, and the repository format. */
export { Pipeline } from './Pipeline.js';
export { TransformStage, SourceStage } from './stages.js';
export { definePlugin, definePreset, isPlugin, isPreset } from './Plugin.js';
export type { Plugin, Preset, PresetItem, PluginReference, PluginContext, OptionsShape, InferOptions } from './Plugin.js';
export { resolvePlugins, candidateNames, type ResolvedPlugin, type LoaderOptions } from './PluginLoader.js';
export { loadConfig, parseConfigText, embeddedDefaultConfig, SYSTEM_CONFIG_FILE, type LoadedConfig, type ConfigData, type ConfigOrigin } from './ConfigLoader.js';
export { validateConfig, CORE_CONFIG_SHAPE, BACKUP_CONFIG_SHAPE, type ValidatedConfig, type BackupSettings } from './ConfigValidator.js';
export { createRuntime, type Runtime, type RuntimeOptions } from './Runtime.js';
export { Repository, RepositoryKeys, checkStored, sha256, type CatalogEntry } from './Repository.js';
export { parseManifest, type Manifest, type PartRecord } from './Manifest.js';
export { encodeFileIndex, decodeFileIndex, type FileIndex, type IndexEntry, type EntryType } from './FileIndex.js';
export { newBackupId, BACKUP_ID_PATTERN } from './BackupId.js';
export { cutIntoParts } from './PartSplitter.js';
export { transferList } from './Transfer.js';
export { summarize, type BackupSummary } from './Summary.js';
export { ErrorCode, RastError, isRastError, pluginFailed } from './errors.js';
export * from './operations.js';
export type * from './types.js';
