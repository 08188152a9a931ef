import { spawnSync } from 'node:child_process';
import { cp, mkdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { temporaryDirectory } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const BINARY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'node_modules', '.bin', 'rast-backup');

function cli(args: string[], environment: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(BINARY, args, { encoding: 'utf8', env: { ...process.env, RAST_BACKUP_CONFIG: '', ...environment } });
  return { status: result.status, stdout: String(result.stdout), stderr: String(result.stderr) };
}

const configFor = (repository: string) => `[storage]\nlocal.path = ${JSON.stringify(repository)}\n\n[backup]\npart_size_mib = 1\n`;

/** Made once, copied for each test: a local repository with a full backup (3 parts of 1 MiB) and an incremental on it. */
const template = (async () => {
  const home = await temporaryDirectory();
  const repository = path.join(home, 'repository');
  const config = path.join(home, 'config.toml');
  await writeFile(config, configFor(repository));
  const source = path.join(home, 'source');
  await mkdir(source);
  await writeFile(path.join(source, 'random.bin'), Buffer.from(Array.from({ length: 2_500_000 }, (_, i) => (i * 2654435761) >>> 24)));
  const full = JSON.parse(cli(['create', source, '--json', '--config', config]).stdout).id as string;
  await writeFile(path.join(source, 'new'), 'new\n');
  const incremental = JSON.parse(cli(['create', source, '--parent', 'latest', '--json', '--config', config]).stdout).id as string;
  return { repository, full, incremental };
})();

async function repositoryWithChain() {
  const { full, incremental, repository: original } = await template;
  const home = await temporaryDirectory();
  const repository = path.join(home, 'repository');
  await cp(original, repository, { recursive: true });
  const config = path.join(home, 'config.toml');
  await writeFile(config, configFor(repository));
  const part = (id: string, seq: number) => path.join(repository, 'data', id, `${String(seq).padStart(6, '0')}.part`);
  return { home, repository, config, full, incremental, part, state: { RAST_BACKUP_STATE_DIR: path.join(home, 'state') } };
}

async function flipByte(file: string, offset = 1000) {
  const bytes = await readFile(file);
  bytes[offset] ^= 0xff;
  await writeFile(file, bytes);
}

function damaged(result: ReturnType<typeof cli>, ...expected: RegExp[]) {
  assert.is(result.status, 1, `expected exit 1: ${result.stderr}`);
  for (const pattern of expected) assert.match(result.stderr, pattern);
  assert.not.match(result.stderr, /^\s+at /m, 'no stack trace');
}

// ---

const levels = suite('cli: verify levels');

levels('an intact repository: every level passes; --all --json reports each backup', async () => {
  const { config, full, incremental, state } = await repositoryWithChain();
  const all = cli(['verify', '--all', '--json', '--config', config], state);
  assert.is(all.status, 0, all.stderr);
  const report = JSON.parse(all.stdout);
  assert.equal([report.ok, report.level, report.backups.map((backup: any) => backup.backup)], [true, 'full', [full, incremental]]);
  assert.equal(report.backups[0].sinks.map((sink: any) => [sink.sink, sink.holds, sink.objects, sink.read]), [['local', true, 4, 4]]);
  const presence = cli(['verify', full, '--level', 'presence', '--config', config], state);
  assert.is(presence.status, 0, presence.stderr);
  assert.match(presence.stdout, new RegExp(`${full}: intact \\(4 objects in local; presence and sizes only\\)`));
});

levels('a flipped byte: full names backup, part, sink and the dependent incremental; presence, which reads nothing, passes', async () => {
  const { config, full, incremental, part, state } = await repositoryWithChain();
  await flipByte(part(full, 1));
  damaged(
    cli(['verify', full, '--config', config], state),
    new RegExp(`backup ${full}, part 2 of 3 \\(data/${full}/000001\\.part\\) in sink local: SHA-256`),
    new RegExp(`backup ${full} is needed to restore ${incremental}`),
  );
  assert.is(cli(['verify', full, '--level', 'presence', '--config', config], state).status, 0);
  const all = cli(['verify', '--all', '--json', '--config', config], state);
  damaged(all, /2 backups checked \(full\): 1 damaged; 1 more depend on a damaged one/);
  const report = JSON.parse(all.stdout);
  assert.equal([report.damaged, report.affected], [[full], [incremental]]);
  const problem = report.backups[0].sinks[0].problems[0];
  assert.equal([problem.backup, problem.kind, problem.sink, problem.object, problem.key], [full, 'checksum', 'local', 'part 2 of 3', `data/${full}/000001.part`]);
});

levels('a truncated part and a missing part are found by presence alone', async () => {
  const { config, full, incremental, part, state } = await repositoryWithChain();
  await truncate(part(full, 2), 10);
  await rm(part(incremental, 0));
  const result = cli(['verify', '--all', '--level', 'presence', '--json', '--config', config], state);
  damaged(
    result,
    new RegExp(`backup ${full}, part 3 of 3 \\(data/${full}/000002\\.part\\) in sink local: size 10, expected \\d+`),
    new RegExp(`backup ${incremental}, part 1 of 1 \\(data/${incremental}/000000\\.part\\) in sink local: is missing`),
  );
  const report = JSON.parse(result.stdout);
  assert.equal(report.backups.map((backup: any) => backup.sinks[0].problems.map((problem: any) => problem.kind)), [['size'], ['missing']]);
});

levels('a missing manifest: the backups that need it are named; a damaged manifest is named with its sink', async () => {
  const { repository, config, full, incremental, state } = await repositoryWithChain();
  const manifest = path.join(repository, 'backups', `${incremental}.json`);
  const intact = await readFile(manifest);
  await writeFile(manifest, '{ "format": "rast-backup/manifest"');
  damaged(cli(['verify', '--all', '--level', 'presence', '--config', config], state), new RegExp(`backup ${incremental}, manifest \\(backups/${incremental}\\.json\\) in sink local is damaged: not JSON`));
  await writeFile(manifest, intact);
  await rm(path.join(repository, 'backups', `${full}.json`));
  damaged(cli(['verify', '--all', '--level', 'presence', '--config', config], state), new RegExp(`backup ${incremental} needs its parent ${full}, which is in no sink`));
});

levels('--read-subset 50% reads a different half on each run: a damaged part is found by exactly one of two runs', async () => {
  const { config, full, part, state, home } = await repositoryWithChain();
  await flipByte(part(full, 0));
  const statuses = [0, 1].map(() => cli(['verify', full, '--read-subset', '50%', '--config', config], state).status);
  assert.equal(statuses.sort(), [0, 1]);
  assert.equal(JSON.parse(await readFile(path.join(home, 'state', 'verify-rotation.json'), 'utf8')), { run: 2 });
  const reads = JSON.parse(cli(['verify', '--all', '--read-subset', '100%', '--json', '--config', config], state).stdout);
  assert.equal(reads.backups.map((backup: any) => backup.sinks[0].read), [4, 2], '100% reads every object');
});

levels('bad flags are usage errors (exit 2)', async () => {
  const { config, full } = await repositoryWithChain();
  for (const args of [['verify'], ['verify', full, '--all'], ['verify', full, '--read-subset', '0%'], ['verify', full, '--level', 'quick'], ['verify', full, '--level', 'presence', '--read-subset', '5%']]) {
    const result = cli([...args, '--config', config]);
    assert.is(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
  }
});

levels.run();
