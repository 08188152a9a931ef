import { definePlugin, packageIdentity, SourceStage } from '@rast-backup/core';
import * as t from 'typanion';
import { btrfsSnapshot } from './BtrfsSource.js';
import { btrfsSendFormat } from './BtrfsSendFormat.js';
import { describeLocalSnapshot, removeLocalSnapshot } from './LocalSnapshots.js';
import { snapshotPlaces } from './SnapshotStore.js';

const { name: PLUGIN_NAME, version: VERSION } = packageIdentity(import.meta.url);

/** `[btrfs]`: atomic read-only snapshots of btrfs subvolumes, sent with `btrfs send`, restored with `btrfs receive` or the user-space receiver. */
export default definePlugin({
  name: PLUGIN_NAME,
  version: VERSION,
  configKey: 'btrfs',
  activation: 'always',
  options: {
    /** Set to false to back up paths on btrfs as plain directories (no snapshot, no root needed). */
    enabled: t.isOptional(t.isBoolean()),
    /** Where snapshots are kept (same filesystem as the source); default: `.rast-backup/snapshots` in the top-level subvolume. */
    snapshot_dir: t.isOptional(t.isString()),
  },
  apply(pipeline, options) {
    const format = btrfsSendFormat(`${PLUGIN_NAME}@${VERSION}`);
    pipeline.hooks.format.for('btrfs-send').tap(PLUGIN_NAME, () => format);
    pipeline.hooks.occupiedPaths.tap(PLUGIN_NAME, (paths) => [...paths, ...snapshotPlaces(options.snapshot_dir)]);
    if (options.enabled === false) return;
    pipeline.hooks.snapshot.tapPromise({ name: PLUGIN_NAME, stage: SourceStage.SPECIFIC }, (request) =>
      btrfsSnapshot(request, { snapshotDirectory: options.snapshot_dir }),
    );
    pipeline.hooks.deleted.tapPromise(PLUGIN_NAME, (manifest) => removeLocalSnapshot(manifest, options.snapshot_dir));
    pipeline.hooks.describe.tapPromise(PLUGIN_NAME, async (facts, manifest) => {
      const snapshot = await describeLocalSnapshot(manifest, options.snapshot_dir);
      return snapshot ? { ...facts, 'local snapshot': snapshot } : facts;
    });
  },
});
