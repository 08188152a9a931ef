export { createBackup, type CreateOptions } from './operations/create.js';
export { restoreBackup, type RestoreOptions } from './operations/restore.js';
export { verifyBackup, type VerifyOptions, type VerifyReport } from './operations/verify.js';
export { deleteBackup } from './operations/delete.js';
export { runOperation } from './operations/lifecycle.js';
