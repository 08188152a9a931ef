import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isRoot, temporaryDirectory, testNeeding } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, fixture, hasGpg, keyPair, ROOT, writeConfig } from './TestFixtures.js';

const hasTools = hasGpg && ['zstd', 'jq', 'tar'].every((tool) => spawnSync(tool, ['--version']).status === 0);
const hasBtrfs = isRoot && spawnSync('mkfs.btrfs', ['--version']).status === 0 && spawnSync('btrfs', ['--version']).status === 0;

/** The ```sh blocks of docs/recovery.md, by the section ("1", "2", "5a", …) they stand in. */
async function documentedCommands(): Promise<Map<string, string[]>> {
  const text = await readFile(path.join(ROOT, 'docs', 'recovery.md'), 'utf8');
  const sections = new Map<string, string[]>();
  let section = '';
  for (const [, heading, block] of text.matchAll(/^## (\w+)\.|^```sh\n([\s\S]*?)^```$/gm)) {
    if (heading) section = heading;
    else sections.set(section, [...(sections.get(section) ?? []), block!]);
  }
  return sections;
}

/** Runs the documented sections in order, with the set-up variables pointing at the test's backup. */
async function runDocumented(order: string[], variables: Record<string, string>): Promise<void> {
  const sections = await documentedCommands();
  let script = 'set -eu\n';
  for (const name of order) {
    const blocks = sections.get(name);
    assert.ok(blocks, `docs/recovery.md has section ${name}`);
    script += blocks!.join('\n');
  }
  for (const [name, value] of Object.entries(variables)) {
    const assignment = new RegExp(`^${name}=.*$`, 'm');
    assert.match(script, assignment, `the set-up assigns ${name}`);
    script = script.replace(assignment, `${name}=${JSON.stringify(value)}`);
  }
  const result = spawnSync('bash', ['-c', script], { encoding: 'utf8', env: { ...process.env, GNUPGHOME: undefined } });
  assert.is(result.status, 0, `the documented commands failed:\n${result.stderr}`);
}

/** Path → type, mode and content (or link target) of every entry below `root`. */
async function tree(root: string, skip: string[] = []): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const name of (await readdir(root, { recursive: true })).sort()) {
    if (skip.some((prefix) => name === prefix || name.startsWith(`${prefix}/`))) continue;
    const file = path.join(root, name);
    const stats = await lstat(file);
    const content = stats.isSymbolicLink()
      ? `-> ${await readlink(file)}`
      : stats.isFile()
        ? createHash('sha256')
            .update(await readFile(file))
            .digest('hex')
        : 'dir';
    result[name] = `${(stats.mode & 0o7777).toString(8)} ${content}`;
  }
  return result;
}

function json(result: ReturnType<typeof cli>) {
  assert.is(result.status, 0, result.stderr);
  return JSON.parse(result.stdout);
}

// ---

const recovery = suite('openpgp: docs/recovery.md');

testNeeding(
  recovery,
  hasTools,
  'gpg, zstd, jq and tar',
  'the documented commands restore an encrypted tar chain (with changes and deletions) exactly as the source',
  async () => {
    const { home, source, config, repository } = await fixture();
    const key = await keyPair(path.join(home, 'keys'));
    await writeConfig(config, repository, `enabled = true\nkey_path = ${JSON.stringify(key.privateKeyFile)}`);
    await symlink('sub/small', path.join(source, 'link'));
    // A name that is not UTF-8 (Linux names are bytes): tar must extract it byte for byte.
    const binaryName = Buffer.concat([Buffer.from('bytes/lat-'), Buffer.from([0xe9, 0xff])]);
    await mkdir(path.join(source, 'bytes'));
    await writeFile(Buffer.concat([Buffer.from(`${source}/`), binaryName]), 'latin-1\n');
    json(cli(['create', source, '--json', '--config', config]));
    await writeFile(path.join(source, 'sub', 'small'), 'changed\n');
    await rm(path.join(source, 'marked.txt'));
    await mkdir(path.join(source, 'new'));
    await writeFile(path.join(source, 'new', 'file'), 'new\n');
    const target = json(cli(['create', source, '--parent', 'latest', '--json', '--config', config]));
    await writeFile(path.join(source, 'sub', 'small'), 'after the target: not restored\n');
    const expected = await tree(source, ['bytes']);
    expected['sub/small'] = `644 ${createHash('sha256').update('changed\n').digest('hex')}`;

    const destination = path.join(home, 'recovered');
    await runDocumented(['1', '2', '3', '4', '5a', '6'], {
      REPO: repository,
      TARGET: target.id,
      DEST: destination,
      KEY: key.privateKeyFile,
    });
    assert.equal(await tree(destination, ['bytes']), expected);
    assert.equal(await readdir(path.join(destination, 'bytes'), { encoding: 'buffer' }), [binaryName.subarray('bytes/'.length)]);
    assert.is(await readFile(Buffer.concat([Buffer.from(`${destination}/`), binaryName]), 'utf8'), 'latin-1\n');
  },
);

testNeeding(
  recovery,
  hasTools && hasBtrfs,
  'root, btrfs-progs, gpg, zstd and jq',
  'the documented commands receive an encrypted btrfs-send chain; rast-backup restores it too',
  async () => {
    const home = await temporaryDirectory('rast-openpgp-btrfs-');
    const image = path.join(home, 'fs.img');
    const mountPoint = path.join(home, 'mnt');
    await mkdir(mountPoint);
    const sh = (command: string, args: string[]) => {
      const result = spawnSync(command, args, { encoding: 'utf8' });
      assert.is(result.status, 0, `${command} ${args.join(' ')}: ${result.stderr}`);
    };
    sh('truncate', ['-s', '400M', image]);
    sh('mkfs.btrfs', ['-q', '-f', image]);
    sh('mount', ['-o', 'loop', image, mountPoint]);
    try {
      const source = path.join(mountPoint, 'data');
      sh('btrfs', ['subvolume', 'create', source]);
      await mkdir(path.join(source, 'dir'));
      await writeFile(path.join(source, 'dir', 'file'), 'one\n');
      await writeFile(path.join(source, 'gone'), 'deleted later\n');
      await writeFile(path.join(source, 'big'), Buffer.alloc(3_000_000, 'btrfs '));
      const key = await keyPair(path.join(home, 'keys'));
      const config = path.join(home, 'config.toml');
      const repository = path.join(home, 'repository');
      await writeConfig(config, repository, `key_path = ${JSON.stringify(key.privateKeyFile)}`);
      const full = json(cli(['create', source, '--json', '--config', config]));
      assert.is(full.format, 'btrfs-send');
      await writeFile(path.join(source, 'dir', 'file'), 'two\n');
      await rm(path.join(source, 'gone'));
      const target = json(cli(['create', source, '--parent', 'latest', '--json', '--config', config]));
      const expected = await tree(source);

      const destination = path.join(mountPoint, 'recovered');
      await runDocumented(['1', '2', '3', '4', '5b', '6'], {
        REPO: repository,
        TARGET: target.id,
        DEST: destination,
        KEY: key.privateKeyFile,
      });
      assert.equal(await tree(path.join(destination, 'restored')), expected);
      // …and rast-backup itself restores the same encrypted chain.
      const restored = path.join(mountPoint, 'restored-by-rast');
      assert.is(cli(['restore', target.id, restored, '--config', config]).status, 0);
      assert.equal(await tree(restored), expected);
    } finally {
      spawnSync('umount', ['-l', mountPoint]);
    }
  },
);

recovery.run();
