export { createBackup, type CreateOptions } from './operations/create.js';
export { dryRunCreate, type DryRun } from './operations/dryRun.js';
export { restoreBackup, type RestoreOptions } from './operations/restore.js';
export {
  verifyBackup,
  verifyAll,
  type VerifyOptions,
  type VerifyReport,
  type VerifyAllReport,
  type VerifyLevel,
  type VerifyProblem,
  type VerifyProblemKind,
  type VerifyStatus,
} from './operations/verify.js';
export { deleteBackup, deleteLeftover } from './operations/delete.js';
export { describeBackup, type InfoOptions, type BackupInfo } from './operations/info.js';
export { runOperation } from './operations/lifecycle.js';
export {
  repositoryStats,
  statsOf,
  type RepositoryStats,
  type SinkStats,
  type SourceStats,
  type BackupTotals,
  type BackupMoment,
  type SinkProblems,
} from './operations/stats.js';
export { diffBackups, type DiffOptions, type BackupDiff } from './operations/diff.js';
export { syncRepository, copyBackups, type SyncOptions, type SyncReport } from './operations/sync.js';
export { findPaths, type FindOptions, type FoundPath, type FindResult } from './operations/find.js';
export {
  repairBackups,
  type RepairOptions,
  type RepairReport,
  type BackupRepair,
  type RepairAction,
  type RepairFailure,
} from './operations/repair.js';
