import { spawnSync } from 'node:child_process';
import { chmod, copyFile, cp, mkdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
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
  assert.equal(
    report.backups[0].sinks.map((sink: any) => [sink.sink, sink.holds, sink.objects, sink.read]),
    [['local', true, 5, 5]],
  );
  const presence = cli(['verify', full, '--level', 'presence', '--config', config], state);
  assert.is(presence.status, 0, presence.stderr);
  assert.match(presence.stdout, new RegExp(`${full}: intact \\(5 objects in local; presence and sizes only\\)`));
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
  assert.equal(
    [problem.backup, problem.kind, problem.sink, problem.object, problem.key],
    [full, 'checksum', 'local', 'part 2 of 3', `data/${full}/000001.part`],
  );
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
  assert.equal(
    report.backups.map((backup: any) => backup.sinks[0].problems.map((problem: any) => problem.kind)),
    [['size'], ['missing']],
  );
});

levels('a missing manifest: the backups that need it are named; a damaged manifest is named with its sink', async () => {
  const { repository, config, full, incremental, state } = await repositoryWithChain();
  const manifest = path.join(repository, 'backups', `${incremental}.json`);
  const intact = await readFile(manifest);
  await writeFile(manifest, '{ "format": "rast-backup/manifest"');
  damaged(
    cli(['verify', '--all', '--level', 'presence', '--config', config], state),
    new RegExp(`backup ${incremental}, manifest \\(backups/${incremental}\\.json\\) in sink local is damaged: not JSON`),
  );
  await writeFile(manifest, intact);
  await rm(path.join(repository, 'backups', `${full}.json`));
  damaged(
    cli(['verify', '--all', '--level', 'presence', '--config', config], state),
    new RegExp(`backup ${incremental} needs its parent ${full}, which is in no sink`),
  );
});

levels('--read-subset 50% reads a different half on each run: a damaged part is found by exactly one of two runs', async () => {
  const { config, full, part, state, home } = await repositoryWithChain();
  await flipByte(part(full, 0));
  const statuses = [0, 1].map(() => cli(['verify', full, '--read-subset', '50%', '--config', config], state).status);
  assert.equal(statuses.sort(), [0, 1]);
  assert.equal(JSON.parse(await readFile(path.join(home, 'state', 'verify-rotation.json'), 'utf8')), { run: 2 });
  const reads = JSON.parse(cli(['verify', '--all', '--read-subset', '100%', '--json', '--config', config], state).stdout);
  assert.equal(
    reads.backups.map((backup: any) => backup.sinks[0].read),
    [5, 3],
    '100% reads every object',
  );
});

levels('bad flags are usage errors (exit 2)', async () => {
  const { config, full } = await repositoryWithChain();
  for (const args of [
    ['verify'],
    ['verify', full, '--all'],
    ['verify', full, '--read-subset', '0%'],
    ['verify', full, '--level', 'quick'],
    ['verify', full, '--level', 'presence', '--read-subset', '5%'],
  ]) {
    const result = cli([...args, '--config', config]);
    assert.is(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
  }
});

levels.run();

// ---

const chains = suite('cli: verify checks what restore needs');

chains('an incremental whose parent is damaged is damaged too, naming that parent, as restore fails', async () => {
  const { home, config, full, incremental, part, state } = await repositoryWithChain();
  await flipByte(part(full, 1));
  const result = cli(['verify', incremental, '--json', '--config', config], state);
  damaged(
    result,
    new RegExp(`damaged: backup ${full}, part 2 of 3 \\(data/${full}/000001\\.part\\) in sink local: SHA-256`),
    new RegExp(`damaged: backup ${incremental} cannot be restored: it needs backup ${full}, which is damaged`),
  );
  const report = JSON.parse(result.stdout);
  assert.equal(
    [report.status, report.ok, report.ancestors.map((ancestor: any) => [ancestor.backup, ancestor.status])],
    ['damaged', false, [[full, 'damaged']]],
  );
  assert.equal(
    report.problems.map((problem: any) => [problem.kind, problem.ancestor]),
    [['ancestor', full]],
  );
  const restore = cli(['restore', incremental, path.join(home, 'restored'), '--config', config], state);
  assert.match(restore.stderr, /error RB014: /, 'restore fails on the same part');
  const presence = cli(['verify', incremental, '--level', 'presence', '--config', config], state);
  assert.is(presence.status, 0, 'presence cannot see a flipped byte, in the parent either');
  assert.match(presence.stdout, new RegExp(`${full}: intact[\\s\\S]*${incremental}: intact`), 'the parent is checked and shown first');
});

chains.run();

// ---

const host = suite('cli: what this host cannot check is no damage');

/** An encrypted repository (full + incremental) made with a passphrase-protected key, and configs for hosts that lack something. */
const encrypted = (async () => {
  const home = await temporaryDirectory();
  const keys = path.join(home, 'keys');
  await mkdir(keys);
  const passphrase = { RAST_TEST_PASSPHRASE: 'correct horse battery' };
  const fingerprints: string[] = [];
  for (const [name, flags, environment] of [
    ['locked.key', ['--passphrase-env', 'RAST_TEST_PASSPHRASE'], passphrase],
    ['other.key', [], {}],
    ['host.key', ['--signing'], {}],
  ] as const) {
    const generated = cli(['generate-key', '--output', path.join(keys, name), '--json', ...flags], environment);
    assert.is(generated.status, 0, generated.stderr);
    fingerprints.push(JSON.parse(generated.stdout).fingerprint);
  }
  // Every host trusts the backups' signers (the encryption key, the write-only host's signing key): what is tested is decoding.
  const trusted = `\n[signing]\ntrusted = ${JSON.stringify([fingerprints[0], fingerprints[2]])}\n`;
  await copyFile(path.join(keys, 'locked.key'), path.join(keys, 'shared.key'));
  await chmod(path.join(keys, 'shared.key'), 0o644);
  const repository = path.join(home, 'repository');
  const configFile = async (name: string, encryption: string) => {
    const file = path.join(home, name);
    await writeFile(
      file,
      `${configFor(repository)}\n[encryption]\nenabled = true\npassphrase_env = "RAST_TEST_PASSPHRASE"\n${encryption}\n`,
    );
    return file;
  };
  const key = (name: string) => `key_path = ${JSON.stringify(path.join(keys, name))}${trusted}`;
  const configs = {
    right: await configFile('right.toml', key('locked.key')),
    wrongKey: await configFile('wrong-key.toml', key('other.key')),
    sharedKey: await configFile('shared-key.toml', key('shared.key')),
    writeOnly: await configFile(
      'write-only.toml',
      `public_key_path = ${JSON.stringify(path.join(keys, 'locked.key.pub'))}${trusted}key_path = ${JSON.stringify(path.join(keys, 'host.key'))}`,
    ),
  };
  const source = path.join(home, 'source');
  await mkdir(source);
  await writeFile(path.join(source, 'file'), 'secret\n');
  const full = JSON.parse(cli(['create', source, '--json', '--config', configs.writeOnly]).stdout).id as string;
  await writeFile(path.join(source, 'new'), 'new\n');
  const incremental = JSON.parse(cli(['create', source, '--parent', 'latest', '--json', '--config', configs.right], passphrase).stdout)
    .id as string;
  return { home, repository, configs, passphrase, full, incremental, state: { RAST_BACKUP_STATE_DIR: path.join(home, 'state') } };
})();

function cannotCheck(result: ReturnType<typeof cli>, label: string, code: string) {
  assert.is(result.status, 2, `${label}: expected exit 2: ${result.stderr}`);
  assert.not.match(result.stderr, /damaged:/, `${label}: no damage reported`);
  assert.match(result.stderr, /cannot check the stream of /, label);
  const report = JSON.parse(result.stdout);
  assert.equal([report.status, report.ok, report.damaged, report.unchecked.length], ['unchecked', null, [], 2], label);
  for (const backup of report.backups)
    assert.equal(
      [backup.status, backup.ok, backup.problems, backup.undecodable?.code],
      ['unchecked', null, [], code],
      `${label}: ${backup.backup}`,
    );
}

host('a wrong key, a key others may read, a missing passphrase, a public key only: exit 2 and status unchecked, never damage', async () => {
  const { configs, passphrase, state } = await encrypted;
  const right = cli(['verify', '--all', '--json', '--config', configs.right], { ...state, ...passphrase });
  assert.is(right.status, 0, right.stderr);
  cannotCheck(cli(['verify', '--all', '--json', '--config', configs.wrongKey], { ...state, ...passphrase }), 'wrong key', 'RB018');
  cannotCheck(cli(['verify', '--all', '--json', '--config', configs.sharedKey], { ...state, ...passphrase }), 'key of mode 0644', 'RB002');
  cannotCheck(cli(['verify', '--all', '--json', '--config', configs.right], state), 'no passphrase', 'RB002');
  cannotCheck(cli(['verify', '--all', '--json', '--config', configs.writeOnly], state), 'public key only', 'RB018');
  assert.equal(JSON.parse(right.stdout).status, 'intact');
});

host('a write-only host: presence and --read-subset pass and say the stream cannot be decoded here; verify <id> exits 2', async () => {
  const { configs, full, incremental, state } = await encrypted;
  const presence = cli(['verify', incremental, '--level', 'presence', '--config', configs.writeOnly], state);
  assert.is(presence.status, 0, presence.stderr);
  assert.match(
    presence.stdout,
    new RegExp(`${incremental}: intact \\(3 objects in local; presence and sizes only; this host cannot decode its stream\\)`),
    'its part, its index header and its index block',
  );
  assert.match(presence.stderr, new RegExp(`cannot check the stream of ${full}, ${incremental} on this host: .*only a public key`));
  const subset = cli(['verify', '--all', '--read-subset', '100%', '--json', '--config', configs.writeOnly], state);
  assert.is(subset.status, 0, subset.stderr);
  const report = JSON.parse(subset.stdout);
  assert.equal(
    report.backups.map((backup: any) => [backup.status, backup.sinks[0].objects, backup.sinks[0].read, backup.undecodable?.code]),
    [
      ['intact', 3, 2, 'RB018'],
      ['intact', 3, 2, 'RB018'],
    ],
    'the index block is found in the listing, not read: its SHA-256 is in the header this host cannot read',
  );
  const full1 = cli(['verify', incremental, '--config', configs.writeOnly], state);
  assert.is(full1.status, 2, full1.stderr);
  assert.match(full1.stdout, new RegExp(`${incremental}: no damage found, not checked in full`));
});

host(
  'a write-only host checks the index blocks by its kept copy of the header, or else in the listing: a missing one is damage',
  async () => {
    const { home, repository, configs } = await encrypted;
    const copy = path.join(home, 'block-missing');
    await cp(repository, copy, { recursive: true });
    const config = path.join(home, 'block-missing.toml');
    await writeFile(config, (await readFile(configs.writeOnly, 'utf8')).replace(JSON.stringify(repository), JSON.stringify(copy)));
    const source = path.join(home, 'source-kept');
    await mkdir(source);
    await writeFile(path.join(source, 'file'), 'kept\n');
    const kept = { RAST_BACKUP_STATE_DIR: path.join(home, 'state-kept') };
    const none = { RAST_BACKUP_STATE_DIR: path.join(home, 'state-none') };
    const id = JSON.parse(cli(['create', source, '--json', '--config', config], kept).stdout).id as string;
    for (const state of [kept, none]) {
      const presence = cli(['verify', id, '--level', 'presence', '--config', config], state);
      assert.is(presence.status, 0, presence.stderr);
      assert.match(presence.stdout, new RegExp(`${id}: intact \\(3 objects in local; presence and sizes only;`));
    }
    await rm(path.join(copy, 'data', id, 'index.000000'));
    const byHeader = cli(['verify', id, '--level', 'presence', '--config', config], kept);
    assert.is(byHeader.status, 1, byHeader.stderr);
    assert.match(
      byHeader.stderr,
      new RegExp(`backup ${id}, file index block 1 of 1 \\(data/${id}/index.000000\\) in sink local: is missing`),
    );
    const byListing = cli(['verify', id, '--level', 'presence', '--config', config], none);
    assert.is(byListing.status, 1, byListing.stderr);
    assert.match(
      byListing.stderr,
      new RegExp(`backup ${id}, file index blocks in sink local: 0 listed, 0 bytes, where .* leaves \\d+ for them`),
    );
  },
);

host('damage is still damage without the key: exit 1', async () => {
  const { home, repository, configs, full, incremental, state } = await encrypted;
  const copy = path.join(home, 'damaged-copy');
  await cp(repository, copy, { recursive: true });
  const config = path.join(home, 'damaged-copy.toml');
  await writeFile(config, (await readFile(configs.writeOnly, 'utf8')).replace(JSON.stringify(repository), JSON.stringify(copy)));
  await flipByte(path.join(copy, 'data', full, '000000.part'), 100);
  const result = cli(['verify', '--all', '--json', '--config', config], state);
  damaged(
    result,
    new RegExp(`backup ${full}, part 1 of 1 .* SHA-256`),
    new RegExp(`backup ${incremental} cannot be restored: it needs backup ${full}`),
  );
  assert.equal(JSON.parse(result.stdout).status, 'damaged');
});

host.run();
