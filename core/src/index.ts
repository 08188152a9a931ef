/** @rast-backup/core: the pipeline's hooks, the plugin contract, config, and the repository format. */
export { Pipeline } from './Pipeline.js';
export { TransformStage, SourceStage } from './stages.js';
export { definePlugin, definePreset, isPlugin, isPreset } from './Plugin.js';
export { pluginState, type PluginState } from './PluginState.js';
export type { Plugin, Preset, PresetItem, PluginReference, PluginContext, OptionsShape, InferOptions } from './Plugin.js';
export { resolvePlugins, candidateNames, type ResolvedPlugin, type LoaderOptions } from './PluginLoader.js';
export {
  loadConfig,
  parseConfigText,
  embeddedDefaultConfig,
  SYSTEM_CONFIG_FILE,
  type LoadedConfig,
  type ConfigData,
  type ConfigOrigin,
} from './ConfigLoader.js';
export { validateConfig, CORE_CONFIG_SHAPE, BACKUP_CONFIG_SHAPE, type ValidatedConfig, type BackupSettings } from './ConfigValidator.js';
export { createRuntime, type Runtime, type RuntimeOptions } from './Runtime.js';
export { Repository } from './Repository.js';
export { RepositoryKeys } from './RepositoryKeys.js';
export { Catalog, type CatalogEntry, type DamagedManifest, type Leftover } from './Catalog.js';
export { BackupGraph, walkParents, type Linked, type WalkEnd } from './BackupGraph.js';
export { PartReader, partLabel, type ReadPart } from './PartReader.js';
export { checkStored, sha256 } from './PartChecksum.js';
export { manifestBytes, parseManifest, type Manifest, type PartRecord } from './Manifest.js';
export { headOf, type ManifestHead } from './ManifestHead.js';
export { type Authentication, type SignatureCheck } from './ManifestAuthentication.js';
export { indexPath, pathBytes, isBinaryPath, displayPath, fromDisplayPath } from './IndexPath.js';
export {
  encodeFileIndex,
  decodeFileIndex,
  storedEntry,
  type FileIndex,
  type IndexEntry,
  type EntryType,
  type StreamRange,
} from './FileIndex.js';
export { newBackupId, BACKUP_ID_PATTERN } from './BackupId.js';
export { cutIntoParts } from './PartSplitter.js';
export { encodeHere, decodeHere } from './MainThreadStages.js';
export { decodePart } from './PartDecoder.js';
export { stateDirectory } from './StateDirectory.js';
export { makeDirectories } from './Directories.js';
export { packageIdentity } from './PackageIdentity.js';
export { BACKUP_GROUP, groupId, groupName } from './Group.js';
export { secretFileExposure } from './SecretFile.js';
export { IndexCache, type RunCopy } from './IndexCache.js';
export { comparePaths, compareNames, isWithin } from './IndexOrder.js';
export { IndexView } from './IndexView.js';
export { IndexScan } from './IndexScan.js';
export { diffIndexes, entryChanges, type IndexDifference, type EntryChange, type DiffChains } from './IndexDiff.js';
export { PathPattern } from './PathPattern.js';
export { Exclusion, excludePatternProblem } from './Exclusion.js';
export { ArrayRecords, EncodedRecords, type BlockRecords } from './BlockRecords.js';
export { IndexSpool } from './IndexSpool.js';
export { IndexStore } from './IndexStore.js';
export { writeIndex, writeRun, INDEX_BLOCK_BYTES, MAX_INDEX_LAYERS, type StoreObject, type WrittenIndex } from './IndexWriter.js';
export {
  MemoryRun,
  isTombstone,
  encodeBlock,
  decodeBlock,
  type IndexRun,
  type IndexRecord,
  type IndexTombstone,
  type IndexBlock,
  type IndexRunHeader,
} from './IndexRun.js';
export { copyObject, type ObjectRecord, type CopiedObject } from './ObjectCopy.js';
export { BackupCopier, type BackupCopy } from './BackupCopier.js';
export { summarize, type BackupSummary } from './Summary.js';
export { backupFilter, type BackupFilter, type BackupFilterOptions } from './BackupFilter.js';
export { parsePointInTime, POINT_IN_TIME_FORMS } from './PointInTime.js';
export { ErrorCode, RastError, isRastError } from './errors.js';
export * from './diagnostics/index.js';
export { interrupted, stopIfInterrupted, whenInterrupted } from './Interruption.js';
export * from './operations.js';
export type * from './types.js';
export { ProgressCounter, type ProgressEvent } from './Progress.js';
export { measureTree, type TreeMeasure } from './TreeMeasure.js';
export { processAlive } from './ProcessAlive.js';
export { deleteKeys } from './SinkKeys.js';
