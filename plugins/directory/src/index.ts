import { definePlugin, packageIdentity, SourceStage } from '@rast-backup/core';
import * as t from 'typanion';
import { directorySnapshot } from './DirectorySource.js';
import { tarFormat } from './TarFormat.js';

const { name: PLUGIN_NAME, version: VERSION } = packageIdentity(import.meta.url);

/** Backs up any directory as a tar stream (the `directory` source and the `tar` format). */
export default definePlugin({
  name: PLUGIN_NAME,
  version: VERSION,
  configKey: 'directory',
  activation: 'always',
  options: {
    /** Stay on the source's filesystem: mount points below it are kept as empty directories (default true). */
    one_file_system: t.isOptional(t.isBoolean()),
  },
  apply(pipeline, options) {
    const oneFileSystem = options.one_file_system ?? true;
    pipeline.hooks.snapshot.tapPromise({ name: PLUGIN_NAME, stage: SourceStage.FALLBACK }, (request) =>
      directorySnapshot(request, { oneFileSystem }),
    );
    const format = tarFormat(`${PLUGIN_NAME}@${VERSION}`, { oneFileSystem });
    pipeline.hooks.format.for('tar').tap(PLUGIN_NAME, () => format);
  },
});
