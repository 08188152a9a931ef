import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The name and version in the package.json nearest above a module (`import.meta.url`): a plugin's
 * `name` and `version` come from its package, never from a second copy in code.
 */
export function packageIdentity(moduleUrl: string): { name: string; version: string } {
  for (let directory = path.dirname(fileURLToPath(moduleUrl)); ; directory = path.dirname(directory)) {
    let text: string | undefined;
    try {
      text = readFileSync(path.join(directory, 'package.json'), 'utf8');
    } catch {
      if (path.dirname(directory) === directory) throw new Error(`no package.json above ${fileURLToPath(moduleUrl)}`);
      continue;
    }
    const { name, version } = JSON.parse(text) as { name?: unknown; version?: unknown };
    if (typeof name !== 'string' || typeof version !== 'string')
      throw new Error(`${path.join(directory, 'package.json')} has no name and version`);
    return { name, version };
  }
}
