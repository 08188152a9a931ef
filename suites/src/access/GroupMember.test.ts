import { spawnSync } from 'node:child_process';
import { chmod, chown, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isRoot, temporaryDirectory, testNeeding } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BINARY, type Result, sh, writeConfig } from '../support.js';

/**
 * The seed's advice `usermod -aG rast-backup user`: a member of the group rast-backup, not root, lists,
 * verifies and restores encrypted backups made by root. Uses a real group and a real user, made and removed here.
 */
const test = suite('access: a member of the group rast-backup');

const GROUP = 'rast-backup';
const tools = ['useradd', 'userdel', 'groupadd', 'groupdel', 'setpriv'].every(
  (tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0,
);
const available = isRoot && tools;
const needs = 'root and useradd, groupadd and setpriv (util-linux)';

const run = (command: string, args: string[], env: NodeJS.ProcessEnv = {}): Result => {
  const result = spawnSync(command, args, { encoding: 'utf8', env: { ...process.env, RAST_BACKUP_CONFIG: '', ...env }, timeout: 120_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
};
/** The CLI as root with umask 077, as a hardened service runs it: the group must still be able to read the repository. */
const asRoot = (args: string[]) => run('sh', ['-c', 'umask 077 && exec "$0" "$@"', BINARY, ...args]);
const warnings = (result: Result) => result.stderr.split('\n').filter((line) => line.includes('warning:'));

/** A group rast-backup (kept when it existed before) and a user in it; both removed by the returned function. */
function makeMember(): { user: string; uid: number; removeAll: () => void } {
  const hadGroup = spawnSync('getent', ['group', GROUP]).status === 0;
  if (!hadGroup) sh('groupadd', ['--system', GROUP]);
  const user = `rbmember${process.pid}`;
  sh('useradd', ['--no-create-home', '--user-group', '--groups', GROUP, '--shell', '/usr/sbin/nologin', user]);
  const uid = Number(sh('id', ['-u', user]).trim());
  return {
    user,
    uid,
    removeAll: () => {
      spawnSync('userdel', [user]);
      if (!hadGroup) spawnSync('groupdel', [GROUP]);
    },
  };
}

testNeeding(
  test,
  available,
  needs,
  'a member lists, verifies and restores an encrypted backup; owners it cannot set are one warning, exit 0',
  async () => {
    const { user, uid, removeAll } = makeMember();
    try {
      const home = await temporaryDirectory('rast-group-');
      await chmod(home, 0o755);
      const source = path.join(home, 'source');
      await mkdir(path.join(source, 'etc'), { recursive: true });
      await writeFile(path.join(source, 'etc', 'fstab'), 'UUID=1 / btrfs defaults 0 0\n');
      await writeFile(path.join(source, 'notes'), 'root owns these\n');
      const keys = path.join(home, 'keys');
      await mkdir(keys, { mode: 0o750 });
      const key = path.join(keys, 'encryption.key');
      const config = await writeConfig(
        home,
        `[storage]\nlocal.path = ${JSON.stringify(path.join(home, 'repository'))}\n\n[encryption]\nenabled = true\nkey_path = ${JSON.stringify(key)}\n`,
      );
      const generated = run(BINARY, ['generate-key', '--output', key, '--config', config]);
      assert.is(generated.status, 0, generated.stderr);
      for (const file of [keys, key, config]) sh('chgrp', [GROUP, file]);
      await chmod(key, 0o640);
      await chmod(config, 0o640);

      const created = asRoot(['create', source, '--json', '--config', config]);
      assert.is(created.status, 0, created.stderr);
      assert.equal(warnings(created), [], 'a key and a config readable by the group rast-backup only are accepted without a word');
      const id = JSON.parse(created.stdout).id as string;
      const repositoryMode = await stat(path.join(home, 'repository'));
      assert.is(repositoryMode.mode & 0o777, 0o750, 'the repository directory is group-readable despite umask 077');

      const own = path.join(home, user);
      await mkdir(path.join(own, 'state'), { recursive: true });
      await chown(own, uid, uid);
      await chown(path.join(own, 'state'), uid, uid);
      const asMember = (args: string[]) =>
        run('setpriv', ['--reuid', user, '--regid', user, '--init-groups', '--', BINARY, ...args, '--config', config], {
          HOME: own,
          RAST_BACKUP_STATE_DIR: path.join(own, 'state'),
        });

      const listed = asMember(['list', '--json']);
      assert.is(listed.status, 0, listed.stderr);
      assert.equal(
        JSON.parse(listed.stdout).map((backup: { id: string }) => backup.id),
        [id],
      );
      const verified = asMember(['verify', id]);
      assert.is(verified.status, 0, verified.stderr);
      const destination = path.join(own, 'restored');
      const restored = asMember(['restore', id, destination]);
      assert.is(restored.status, 0, restored.stderr);
      assert.is(await readFile(path.join(destination, 'etc', 'fstab'), 'utf8'), 'UUID=1 / btrfs defaults 0 0\n');
      assert.is((await stat(path.join(destination, 'notes'))).uid, uid, 'the restored files belong to the member');
      const [warning, ...more] = warnings(restored);
      assert.match(warning ?? '', /owners not restored: 4 entries belong to the restoring user/);
      assert.equal(more, [], 'one summary warning for the owners, not one per entry');
    } finally {
      removeAll();
    }
  },
);

testNeeding(
  test,
  available,
  needs,
  'a secret readable by another group, or writable by rast-backup, is refused (key) or warned about (config)',
  async () => {
    const { removeAll } = makeMember();
    try {
      const home = await temporaryDirectory('rast-group-');
      const key = path.join(home, 'encryption.key');
      const config = await writeConfig(
        home,
        `[storage]\nlocal.path = "repository"\n\n[encryption]\nkey_path = "encryption.key"\n\n[s3]\nendpoint = "http://127.0.0.1:9"\nbucket = "b"\naccess_key_id = "a"\nsecret_access_key = "s"\n`,
      );
      assert.is(run(BINARY, ['generate-key', '--output', key, '--config', config]).status, 0);
      const create = ['create', home, '--config', config];
      sh('chgrp', [GROUP, key]);
      await chmod(key, 0o660);
      const groupWritable = run(BINARY, create);
      assert.is(groupWritable.status, 2, groupWritable.stderr);
      assert.match(
        groupWritable.stderr,
        /RB002: .*encryption\.key_path: .*encryption\.key is writable or executable by its group rast-backup \(mode 0660\).*chmod 600/,
      );

      sh('chgrp', ['root', key, config]);
      await chmod(key, 0o640);
      await chmod(config, 0o640);
      const otherGroup = run(BINARY, create);
      assert.is(otherGroup.status, 2, otherGroup.stderr);
      assert.match(
        otherGroup.stderr,
        /RB002: .*encryption\.key is readable by its group root \(mode 0640\): only the group rast-backup may share a secret/,
      );
      const [warning] = warnings(otherGroup);
      assert.match(
        warning ?? '',
        new RegExp(
          `the config sets s3\\.secret_access_key, but ${config} is readable by its group root \\(mode 0640\\).*chmod 600 ${config}`,
        ),
      );
    } finally {
      removeAll();
    }
  },
);

test('a world-readable config that sets secret_access_key is used with one warning naming it and chmod 600; one without secrets is not', async () => {
  const home = await temporaryDirectory('rast-config-secret-');
  const storage = `[storage]\nlocal.path = "repository"\n`;
  const secret = await writeConfig(
    home,
    `${storage}\n[s3]\nendpoint = "http://127.0.0.1:9"\nbucket = "b"\naccess_key_id = "a"\nsecret_access_key = "s"\n`,
    'secret.toml',
  );
  const plain = await writeConfig(home, storage, 'plain.toml');
  await chmod(secret, 0o644);
  await chmod(plain, 0o644);
  const exposed = run(BINARY, ['config', '--config', secret]);
  assert.is(exposed.status, 0, exposed.stderr);
  assert.equal(warnings(exposed).length, 1, exposed.stderr);
  assert.match(
    warnings(exposed)[0]!,
    new RegExp(`the config sets s3\\.secret_access_key, but ${secret} is accessible by others \\(mode 0644\\).*run: chmod 600 ${secret}`),
  );
  const quiet = run(BINARY, ['config', '--config', plain]);
  assert.is(quiet.status, 0, quiet.stderr);
  assert.equal(warnings(quiet), []);
  await chmod(secret, 0o600);
  assert.equal(warnings(run(BINARY, ['config', '--config', secret])), [], 'a private config is used without a word');
});

test.run();
