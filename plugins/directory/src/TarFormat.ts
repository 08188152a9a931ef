import type { Format } from '@rast-backup/core';
import { reindexTree } from './TarReindexer.js';
import { restoreTree } from './TarRestorer.js';
import { serializeTree } from './TarSerializer.js';
import { surveyTree } from './TarSurvey.js';
import { verifyTree } from './TarVerifier.js';

/** The `tar` format: POSIX pax archives of a directory tree, incremental against the parent's file index. */
export function tarFormat(plugin: string, options: { oneFileSystem: boolean }): Format {
  return {
    name: 'tar',
    plugin,
    version: 1,
    serialize: (context) => serializeTree(context, options),
    restore: restoreTree,
    verify: verifyTree,
    survey: (context) => surveyTree(context, options),
    reindex: reindexTree,
  };
}
