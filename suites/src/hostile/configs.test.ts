import { existsSync } from 'node:fs';
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
  for (const [name, { content, mode }] of Object.entries(config.files ?? {}))
    await writeFile(path.join(directory, name), content, { mode });
  const file = await writeConfig(directory, config.text.replaceAll('REPO', path.join(directory, 'repo')), config.file);
  const command = (config.command ?? ['list']).map((word) => (word === 'SOURCE' ? path.join(directory, 'source') : word));
  const result = await cliAsync([...command, '--config', file], {
    cwd: directory,
    env: { RAST_BACKUP_STATE_DIR: path.join(directory, 'state') },
  });
  return { file, result, directory };
}

test('every malformed config is refused with exit 2 and one line naming the file and the key or line, before anything is written', async () => {
  const home = await temporaryDirectory('rast-hostile-config-');
  const outcomes = await mapLimited(MALFORMED_CONFIGS, 2, async (config) => ({
    config,
    ...(await runCase(home, MALFORMED_CONFIGS.indexOf(config), config)),
  }));
  const failures: string[] = [];
  for (const { config, file, result, directory } of outcomes) {
    try {
      const line = assertOneLineError(result, config.status, config.pattern, config.name);
      if (!line.includes(file)) throw new Error(`${config.name}: the message does not name ${file}: ${line}`);
      if (existsSync(path.join(directory, 'repo'))) throw new Error(`${config.name}: the repository was created`);
    } catch (error) {
      failures.push((error as Error).message);
    }
  }
  assert.equal(failures, [], `${failures.length} of ${MALFORMED_CONFIGS.length} cases failed:\n${failures.join('\n\n')}`);
});

test('a config file that cannot be read is RB003 naming it and how it was given', async () => {
  const home = await temporaryDirectory('rast-hostile-config-file-');
  const missing = path.join(home, 'missing.toml');
  const results = await Promise.all([
    cliAsync(['list', '--config', missing]),
    cliAsync(['list', '--config', home]),
    cliAsync(['list'], { env: { RAST_BACKUP_CONFIG: missing } }),
  ]);
  assertOneLineError(
    results[0]!,
    2,
    new RegExp(`RB003: cannot read config file ${missing} \\(given by --config\\): no such file`),
    '--config missing',
  );
  assertOneLineError(
    results[1]!,
    2,
    new RegExp(`RB003: cannot read config file ${home} \\(given by --config\\): .*EISDIR`),
    '--config a directory',
  );
  assertOneLineError(
    results[2]!,
    2,
    new RegExp(`RB003: cannot read config file ${missing} \\(given by RAST_BACKUP_CONFIG\\)`),
    'RAST_BACKUP_CONFIG missing',
  );
});

/** Paths that pass validation but cannot be used: one line naming the path, exit 1, and never a hang. */
const BAD_PATHS: Array<{ name: string; repository: string; command: string[]; pattern: RegExp }> = [
  {
    name: "repository under /proc (Node's recursive mkdir spins there)",
    repository: '/proc/no-such-process/repo',
    command: ['create', 'SOURCE'],
    pattern: /RB017: local sink local \(\/proc\/no-such-process\/repo\): cannot write .*ENOENT/,
  },
  {
    name: 'repository that is a regular file',
    repository: 'FILE',
    command: ['list'],
    pattern: /RB017: local sink local \(.*\/file\): cannot list .*ENOTDIR/,
  },
  {
    name: 'repository below a regular file',
    repository: 'FILE/repo',
    command: ['create', 'SOURCE'],
    pattern: /RB017: local sink local \(.*\/file\/repo\): cannot write .*ENOTDIR/,
  },
  { name: 'repository path with a NUL byte', repository: 'a\u0000b', command: ['list'], pattern: /RB017: local sink local .*null bytes/ },
  {
    name: 'restore into a destination under /proc',
    repository: 'REPO',
    command: ['restore', 'latest', '/proc/no-such-process/dest'],
    pattern: /RB009: destination \/proc\/no-such-process\/dest cannot be created/,
  },
  {
    name: 'restore into a destination below a regular file',
    repository: 'REPO',
    command: ['restore', 'latest', 'FILE/dest'],
    pattern: /RB009: destination .*\/file\/dest cannot be read: ENOTDIR/,
  },
];

test('repository and destination paths that cannot be used fail at once with one line naming them', async () => {
  const home = await temporaryDirectory('rast-hostile-paths-');
  await mkdir(path.join(home, 'source'));
  await writeFile(path.join(home, 'source', 'file'), 'data\n');
  await writeFile(path.join(home, 'file'), 'not a directory\n');
  const good = await writeConfig(home, `[storage]\nlocal.path = ${JSON.stringify(path.join(home, 'repo'))}\n`, 'good.toml');
  assert.is((await cliAsync(['create', path.join(home, 'source'), '--config', good])).status, 0);
  const outcomes = await mapLimited(BAD_PATHS, 2, async (bad) => {
    const replace = (text: string) =>
      text.replace('FILE', path.join(home, 'file')).replace('REPO', path.join(home, 'repo')).replace('SOURCE', path.join(home, 'source'));
    const file = await writeConfig(
      home,
      `[storage]\nlocal.path = ${JSON.stringify(replace(bad.repository))}\n`,
      `${BAD_PATHS.indexOf(bad)}.toml`,
    );
    return { bad, result: await cliAsync([...bad.command.map(replace), '--config', file], { cwd: home, timeoutMs: 20_000 }) };
  });
  for (const { bad, result } of outcomes) assertOneLineError(result, 1, bad.pattern, bad.name);
});

test.run();
