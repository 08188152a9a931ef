// rast-backup-preset-astos: the built-in plugins, with astOS's defaults.
//
//   presets = ["astos"]               # once installed from npm (or ["./index.mjs"] for this file)
//
// Items are flattened depth-first in the order written. `[reference, options]` gives a plugin default
// options; the plugin's own table in the config file still overrides them key by key.
import { definePreset } from '@rast-backup/core';

export default definePreset({
  name: 'rast-backup-preset-astos',
  plugins: ['@rast-backup/preset-default', ['@rast-backup/plugin-zstd', { level: 6 }]],
});
