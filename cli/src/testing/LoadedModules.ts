// Preloaded with `node --import` by tests that check which modules a command loads (see LoadedModulesHooks).
import { appendFileSync, readFileSync } from 'node:fs';
import { register } from 'node:module';
import { pathToFileURL } from 'node:url';

register('./LoadedModulesHooks.js', import.meta.url);

// Native addons (loaded by require(), which the hooks do not see), as the process maps them when it ends.
process.on('exit', () => {
  const addons = new Set(
    readFileSync('/proc/self/maps', 'utf8')
      .split('\n')
      .map((line) => line.slice(line.indexOf('/')))
      .filter((file) => file.endsWith('.node')),
  );
  for (const file of addons) appendFileSync(process.env.RAST_TEST_LOADED_MODULES!, `${pathToFileURL(file).href}\n`);
});
