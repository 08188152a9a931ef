import { definePreset } from '@rast-backup/core';
import btrfs from '@rast-backup/plugin-btrfs';
import directory from '@rast-backup/plugin-directory';
import local from '@rast-backup/plugin-local';
import zstd from '@rast-backup/plugin-zstd';

/** The built-in plugins; each activates when its config section is present (or always, for sources and formats). */
export default definePreset({
  name: '@rast-backup/preset-default',
  plugins: [local, btrfs, directory, zstd],
});
