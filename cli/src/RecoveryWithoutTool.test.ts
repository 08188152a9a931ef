import { spawnSync } from 'node:child_process';
import { appendFile, cp, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { temporaryDirectory, testNeeding } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const BINARY = path.join(ROOT, 'node_modules', '.bin', 'rast-backup');
const FIXTURE = path.join(ROOT, 'cli', 'fixtures', 'v1-repository');
const hasTools = ['zstd', 'jq', 'tar', 'sha256sum'].every((tool) => spawnSync(tool, ['--version']).status === 0);

const { fingerprint } = (await import(pathToFileURL(path.join(FIXTURE, 'fingerprint.mjs')).href)) as {
  fingerprint(root: string): Promise<string>;
};
/** A tree's fingerprint without xattrs: the tar stream does not carry them (only the index does). */
const withoutXattrs = async (root: string) => (await fingerprint(root)).replace(/ xattrs:\S+/g, '');

function cli(args: string[]) {
  const result = spawnSync(BINARY, args, { encoding: 'utf8', env: { ...process.env, RAST_BACKUP_CONFIG: '' } });
  assert.is(result.status, 0, `${args.join(' ')}: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

/** The ```sh blocks of docs/repository-format.md's "Recovery without the tool", in order, set up for `variables`. */
async function documented(variables: Record<string, string>): Promise<string> {
  const text = await readFile(path.join(ROOT, 'docs', 'repository-format.md'), 'utf8');
  const section = text.slice(text.indexOf('## Recovery without the tool'));
  let script = 'set -eu\n' + [...section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((match) => match[1]).join('\n');
  for (const [name, value] of Object.entries(variables)) {
    const assignment = new RegExp(`^${name}=.*$`, 'm');
    assert.match(script, assignment, `the set-up assigns ${name}`);
    script = script.replace(assignment, `${name}=${JSON.stringify(value)}`);
  }
  return script;
}

function run(script: string) {
  const result = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
  assert.is(result.status, 0, `the documented commands failed:\n${result.stderr}`);
  return result.stdout;
}

const recovery = suite('docs/repository-format.md: recovery without the tool');

testNeeding(
  recovery,
  hasTools,
  'zstd, jq, tar and sha256sum',
  'a chain of ten tar backups (index layers merged) is checked and restored exactly; a damaged index block is found',
  async () => {
    const home = await temporaryDirectory();
    const repository = path.join(home, 'repository');
    const config = path.join(home, 'config.toml');
    await writeFile(config, `[storage]\nlocal.path = ${JSON.stringify(repository)}\n`);
    const source = path.join(home, 'source');
    for (const directory of ['a', 'a/b', 'a-b', 'c']) await mkdir(path.join(source, directory), { recursive: true });
    for (const file of ['a/1', 'a/b/2', 'a-b/3', 'a.b', 'a0', 'c/4']) await writeFile(path.join(source, file), `${file}\n`);
    // Unchanged files, so that the changes since the bottom run stay under half of the index (else it is stored whole).
    await mkdir(path.join(source, 'bulk'));
    for (let file = 0; file < 200; file++) await writeFile(path.join(source, 'bulk', String(file)), `${file}\n`);
    const ids = [cli(['create', source, '--json', '--config', config]).id as string];
    // Each backup changes a little: a file modified, one added, one deleted, a directory renamed now and then.
    for (let round = 1; round < 10; round++) {
      await appendFile(path.join(source, 'a0'), `${round}\n`);
      await writeFile(path.join(source, 'c', `new-${round}`), `${round}\n`);
      if (round > 2) await rm(path.join(source, 'c', `new-${round - 2}`));
      if (round % 3 === 0) await rename(path.join(source, round === 3 ? 'a' : `a-${round - 3}`), path.join(source, `a-${round}`));
      ids.push(cli(['create', source, '--parent', 'latest', '--json', '--config', config]).id as string);
    }
    const header = (id: string) =>
      JSON.parse(spawnSync('zstd', ['-dc', path.join(repository, 'data', id, 'index')], { encoding: 'utf8' }).stdout) as {
        layers: number;
        over: string | null;
      };
    // Some backups merged their parent's newest runs: they lie over an older backup than their parent.
    const headers = ids.map(header);
    assert.ok(
      headers.some((index, at) => at > 0 && index.over !== null && index.over !== ids[at - 1]),
      `the layers of the chain: ${headers.map((index) => index.layers).join(' ')}`,
    );

    const destination = path.join(home, 'restored');
    const output = run(await documented({ REPO: repository, TARGET: ids.at(-1)!, DEST: destination }));
    assert.not.match(output, 'DAMAGED');
    assert.fixture(await withoutXattrs(destination), await withoutXattrs(source));

    // A flipped byte in one index block of the chain: step 2 names the backup.
    // A run the last backup's index lies over.
    const below = headers.at(-1)!.over!;
    const block = path.join(repository, 'data', below, 'index.000000');
    const bytes = await readFile(block);
    bytes[bytes.length >> 1]! ^= 0xff;
    await writeFile(block, bytes);
    const steps = await documented({ REPO: repository, TARGET: ids.at(-1)!, DEST: path.join(home, 'again') });
    const check = steps.slice(0, steps.indexOf('for id in $chain; do\n  cat'));
    assert.match(check, 'sha256sum -c', 'steps 1 and 2');
    assert.match(run(check), `DAMAGED: ${below}`);
  },
);

testNeeding(
  recovery,
  hasTools,
  'zstd, jq, tar and sha256sum',
  'a version 1 repository (index v1) is checked and restored too',
  async () => {
    const home = await temporaryDirectory();
    const repository = path.join(home, 'repository');
    await cp(path.join(FIXTURE, 'repository'), repository, { recursive: true });
    const config = path.join(home, 'config.toml');
    await writeFile(config, `[storage]\nlocal.path = ${JSON.stringify(repository)}\n`);
    const target = (cli(['list', '--json', '--config', config]) as Array<{ id: string; name: string }>).find(
      (backup) => backup.name === 'directory-incremental',
    )!.id;
    const destination = path.join(home, 'restored');
    assert.not.match(run(await documented({ REPO: repository, TARGET: target, DEST: destination })), 'DAMAGED');
    const expected = (await readFile(path.join(FIXTURE, 'expected-directory-incremental.txt'), 'utf8')).replace(/ xattrs:\S+/g, '');
    assert.fixture(await withoutXattrs(destination), expected);
  },
);

recovery.run();
