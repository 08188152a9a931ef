import { definePreset } from '@rast-backup/core';
import btrfs from '@rast-backup/plugin-btrfs';
import directory from '@rast-backup/plugin-directory';
import local from '@rast-backup/plugin-local';
import notify from '@rast-backup/plugin-notify';
import openpgp from '@rast-backup/plugin-openpgp';
import retention from '@rast-backup/plugin-retention';
import s3 from '@rast-backup/plugin-s3';
import zstd from '@rast-backup/plugin-zstd';

/** The built-in plugins; each activates when its config section is present (or always, for sources and formats). */
export default definePreset({
  name: '@rast-backup/preset-default',
  plugins: [local, s3, btrfs, directory, zstd, openpgp, retention, notify],
});
