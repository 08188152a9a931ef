import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { testNeeding } from '@rast-backup/core/testing';
import { s3Client, startSwift, SWIFT_IDLE_TIMEOUT_SECONDS, swiftAvailable } from '@rast-backup/plugin-s3/testing/SwiftServer';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CliFixture } from './testing/CliFixture.js';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PRELOAD = path.join(CLI, 'dist', 'testing', 'LoadedModules.js');

/** Runs a CLI entry (dist/bin.js, or a bundle's) with the fixture's config, recording the ES modules it loads. */
function run(
  fixture: CliFixture,
  entry: string,
  args: string[],
): { status: number | null; stdout: string; stderr: string; modules: string[] } {
  const record = path.join(fixture.home, `modules-${Math.random().toString(16).slice(2)}`);
  const result = spawnSync(process.execPath, ['--import', PRELOAD, entry, ...args, '--config', fixture.config], {
    encoding: 'utf8',
    env: {
      ...process.env,
      RAST_BACKUP_CONFIG: '',
      RAST_BACKUP_STATE_DIR: path.join(fixture.home, 'state'),
      RAST_TEST_LOADED_MODULES: record,
    },
  });
  const modules = readFileSync(record, 'utf8').split('\n').filter(Boolean);
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, modules };
}

const startup = suite('startup: what a command loads');

startup('a config with no S3 sink and no encryption loads neither the AWS SDK nor openpgp', async () => {
  const fixture = await CliFixture.create();
  const source = await fixture.directory('alpha');
  const entry = path.join(CLI, 'dist', 'bin.js');
  for (const args of [['create', source], ['list'], ['ls', 'latest'], ['verify', 'latest']]) {
    const result = run(fixture, entry, args);
    assert.is(result.status, 0, `${args.join(' ')}: ${result.stderr}`);
    assert.ok(
      result.modules.some((url) => url.includes('/clipanion/')),
      'the record holds the libraries loaded',
    );
    const heavy = result.modules.filter((url) => /\/node_modules\/(@aws-sdk|openpgp)\//.test(url));
    assert.equal(heavy, [], `${args.join(' ')} loaded ${heavy.join(', ')}`);
  }
});

startup('list and plugins load no native addon (those of btrfs, directories and compression load at first use)', async () => {
  const fixture = await CliFixture.create();
  const source = await fixture.directory('alpha');
  const entry = path.join(CLI, 'dist', 'bin.js');
  const created = run(fixture, entry, ['create', source]);
  assert.is(created.status, 0, created.stderr);
  assert.ok(
    created.modules.some((url) => url.endsWith('.node')),
    'the record holds the native addons a create loads',
  );
  for (const args of [['list'], ['list', '--json'], ['plugins']]) {
    const result = run(fixture, entry, args);
    assert.is(result.status, 0, `${args.join(' ')}: ${result.stderr}`);
    const addons = result.modules.filter((url) => url.endsWith('.node') || /\/node_modules\/(koffi|@node-rs|@napi-rs)\//.test(url));
    assert.equal(addons, [], `${args.join(' ')} loaded ${addons.join(', ')}`);
  }
});

startup('the bundle (what `npm pack` ships) answers as the modules do, from a few files', async () => {
  const outdir = path.join(CLI, 'dist', `bundle-test-${process.pid}`);
  const bundled = spawnSync(process.execPath, [path.join(CLI, 'scripts', 'bundle.mjs'), '--outdir', outdir], { encoding: 'utf8' });
  assert.is(bundled.status, 0, bundled.stderr);
  try {
    const fixture = await CliFixture.create();
    const source = await fixture.directory('alpha', { file: 'alpha\n', other: 'gamma\n' });
    const entries = { modules: path.join(CLI, 'dist', 'bin.js'), bundle: path.join(outdir, 'bin.js') };
    const created = run(fixture, entries.bundle, ['create', source, '--json']);
    assert.is(created.status, 0, created.stderr);
    for (const args of [['list'], ['list', '--json'], ['ls', 'latest'], ['plugins'], ['--version'], ['ls', 'nonesuch']]) {
      const modules = run(fixture, entries.modules, args);
      const bundle = run(fixture, entries.bundle, args);
      assert.equal([bundle.status, bundle.stdout, bundle.stderr], [modules.status, modules.stdout, modules.stderr], args.join(' '));
      const ours = (result: typeof modules) => result.modules.filter((url) => url.startsWith('file:')).length;
      assert.ok(
        ours(bundle) * 4 < ours(modules),
        `${args.join(' ')}: ${ours(bundle)} files loaded from the bundle, ${ours(modules)} without`,
      );
    }
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
});

testNeeding(
  startup,
  swiftAvailable,
  'python3-swift (OpenStack Swift with s3api)',
  'the bundle lists an S3 sink as the modules do, first and warm',
  async () => {
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const swift = await startSwift();
    const outdir = path.join(CLI, 'dist', `bundle-test-s3-${process.pid}`);
    try {
      const client = s3Client(swift);
      await client.send(new CreateBucketCommand({ Bucket: 'startup' }));
      client.destroy();
      const bundled = spawnSync(process.execPath, [path.join(CLI, 'scripts', 'bundle.mjs'), '--outdir', outdir], { encoding: 'utf8' });
      assert.is(bundled.status, 0, bundled.stderr);
      const fixture = await CliFixture.create(
        [
          '[s3]',
          `endpoint = ${JSON.stringify(swift.endpoint)}`,
          `access_key_id = ${JSON.stringify(swift.accessKeyId)}`,
          `secret_access_key = ${JSON.stringify(swift.secretAccessKey)}`,
          'bucket = "startup"',
          `idle_timeout_seconds = ${SWIFT_IDLE_TIMEOUT_SECONDS}`,
          '',
        ].join('\n'),
      );
      const entries = { modules: path.join(CLI, 'dist', 'bin.js'), bundle: path.join(outdir, 'bin.js') };
      for (const name of ['alpha', 'beta']) {
        const created = run(fixture, entries.bundle, ['create', await fixture.directory(name, { file: `${name}\n` }), '--json']);
        assert.is(created.status, 0, created.stderr);
      }
      for (const round of ['first', 'warm']) {
        const modules = run(fixture, entries.modules, ['list', '--json']);
        const bundle = run(fixture, entries.bundle, ['list', '--json']);
        assert.is(bundle.status, 0, bundle.stderr);
        assert.equal([bundle.stdout, bundle.stderr], [modules.stdout, modules.stderr], round);
        assert.equal(
          JSON.parse(bundle.stdout).map((backup: { sinks: string[] }) => backup.sinks),
          [
            ['local', 's3'],
            ['local', 's3'],
          ],
        );
      }
    } finally {
      rmSync(outdir, { recursive: true, force: true });
      await swift.stop();
    }
  },
);

startup.run();
