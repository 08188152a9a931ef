import { definePreset, packageIdentity } from '@rast-backup/core';
import btrfs from '@rast-backup/plugin-btrfs';
import directory from '@rast-backup/plugin-directory';
import local from '@rast-backup/plugin-local';
import notify from '@rast-backup/plugin-notify';
import openpgp, { signing } from '@rast-backup/plugin-openpgp';
import retention from '@rast-backup/plugin-retention';
import s3 from '@rast-backup/plugin-s3';
import zstd from '@rast-backup/plugin-zstd';

const { name: PRESET_NAME } = packageIdentity(import.meta.url);

/** The built-in plugins; each activates when its config section is present (or always, for sources and formats). */
export default definePreset({
  name: PRESET_NAME,
  plugins: [local, s3, btrfs, directory, zstd, openpgp, signing, retention, notify],
});
