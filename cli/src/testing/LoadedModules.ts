// Preloaded with `node --import` by tests that check which modules a command loads (see LoadedModulesHooks).
import { register } from 'node:module';

register('./LoadedModulesHooks.js', import.meta.url);
