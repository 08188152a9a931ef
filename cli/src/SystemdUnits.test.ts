import { spawnSync } from 'node:child_process';
import { chmod, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { temporaryDirectory, testNeeding } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const UNITS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples', 'systemd');
// systemd-analyze (Debian's systemd package, which .ci/run installs): skipped with a message without it, except under CI.
const analyzer = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
const hasAnalyzer = analyzer.status === 0;

const units = suite('examples/systemd');

units("the seed's timer and service are there, with Persistent=true and OnFailure= wired to the notify unit", async () => {
  const timer = await readFile(path.join(UNITS, 'rast-backup-daily.timer'), 'utf8');
  const service = await readFile(path.join(UNITS, 'rast-backup-daily.service'), 'utf8');
  assert.match(timer, /^OnCalendar=daily$/m);
  assert.match(timer, /^Persistent=true$/m);
  assert.match(timer, /^WantedBy=timers\.target$/m);
  assert.match(service, /^ExecStart=\/usr\/bin\/rast-backup create \/ --name "Daily Backup" --tag daily$/m);
  assert.match(service, /^Type=oneshot$/m);
  for (const name of ['rast-backup-daily.service', 'rast-backup-verify.service']) {
    assert.match(await readFile(path.join(UNITS, name), 'utf8'), /^OnFailure=rast-backup-notify@%n\.service$/m, name);
  }
  assert.match(
    await readFile(path.join(UNITS, 'rast-backup-notify@.service'), 'utf8'),
    /^ExecStart=\/usr\/bin\/rast-backup notify --unit %i$/m,
  );
});

testNeeding(
  units,
  hasAnalyzer,
  'systemd-analyze (the systemd package)',
  'systemd-analyze verify accepts every unit without a warning',
  async () => {
    // Copies, with ExecStart pointing at a stub: systemd-analyze checks that the program exists.
    const directory = await temporaryDirectory();
    const stub = path.join(directory, 'rast-backup');
    await writeFile(stub, '#!/bin/sh\n');
    await chmod(stub, 0o755);
    const names = (await readdir(UNITS)).filter((name) => /\.(service|timer)$/.test(name));
    for (const name of names)
      await writeFile(
        path.join(directory, name),
        (await readFile(path.join(UNITS, name), 'utf8')).replaceAll('/usr/bin/rast-backup', stub),
      );
    const result = spawnSync('systemd-analyze', ['verify', ...names.map((name) => `./${name}`)], { cwd: directory, encoding: 'utf8' });
    assert.is(result.status, 0, result.stderr);
    assert.is(result.stderr.trim(), '', 'no warnings (unknown keys, bad values)');
  },
);

units.run();
