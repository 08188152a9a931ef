import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { temporaryDirectory } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cliAsync, mapLimited, writeConfig } from '../support.js';
import { assertOneLineError } from './expectations.js';
import { MALFORMED_CONFIGS, type ConfigCase } from './MalformedConfigs.js';

const test = suite('hostile: malformed configs');

async function runCase(home: string, number: number, config: ConfigCase) {
  const directory = path.join(home, String(number));
  await mkdir(path.join(directory, 'source'), { recursive: true });
  await writeFile(path.join(directory, 'source', 'file'), 'data\n');
  const file = await writeConfig(directory, config.text.replaceAll('REPO', path.join(directory, 'repo')), config.file);
  const command = (config.command ?? ['list']).map((word) => (word === 'SOURCE' ? path.join(directory, 'source') : word));
  const result = await cliAsync([...command, '--config', file], { cwd: directory, env: { RAST_BACKUP_STATE_DIR: path.join(directory, 'state') } });
  return { file, result, directory };
}

test('every malformed config is refused with exit 2 and one line naming the file and the key or line, before anything is written', async () => {
  const home = await temporaryDirectory('rast-hostile-config-');
  const outcomes = await mapLimited(MALFORMED_CONFIGS, 2, async (config) => ({ config, ...(await runCase(home, MALFORMED_CONFIGS.indexOf(config), config)) }));
  const failures: string[] = [];
  for (const { config, file, result, directory } of outcomes) {
    try {
      const line = assertOneLineError(result, config.status, config.pattern, config.name);
      if (!line.includes(file)) throw new Error(`${config.name}: the message does not name ${file}: ${line}`);
      const { existsSync } = await import('node:fs');
      if (existsSync(path.join(directory, 'repo'))) throw new Error(`${config.name}: the repository was created`);
    } catch (error) {
      failures.push((error as Error).message);
    }
  }
  assert.equal(failures, [], `${failures.length} of ${MALFORMED_CONFIGS.length} cases failed:\n${failures.join('\n\n')}`);
});

test.run();
