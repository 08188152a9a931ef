import { randomBytes } from 'node:crypto';
import { appendFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { testNeeding } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BINARY, btrfsAvailable, btrfsNeeds, CliFixture } from './testing/CliFixture.js';
import { runInTerminal, tmuxAvailable } from './testing/TerminalSession.js';

const SIZE = String.raw`[\d.]+ (?:B|kiB|KiB|MiB|GiB)`;
const ESCAPES = /\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g;

/** A directory of 6 MiB in 6 files and 40 small ones: several 1 MiB parts, and entries whose headers count. */
async function sixMebibytes(fixture: CliFixture, name = 'data'): Promise<string> {
  const files: Record<string, string> = {};
  const source = await fixture.directory(name, files);
  for (let n = 0; n < 6; n++) await writeFile(path.join(source, `big${n}`), randomBytes(1 << 20));
  for (let n = 0; n < 40; n++) await writeFile(path.join(source, `small${n}`), randomBytes(1000));
  return source;
}

/** Bytes from what the display prints (`6.1 MiB`), to the precision it prints. */
function bytesOf(shown: string): number {
  const [number, unit] = shown.split(' ') as [string, string];
  const scale = { B: 1, kiB: 1024, KiB: 1024, MiB: 1 << 20, GiB: 1 << 30 }[unit]!;
  return Number(number) * scale;
}

/** The plain progress lines of a run: `rast-backup: progress: <operation> <subject>: …`. */
const plainLines = (stderr: string, operation: string) =>
  stderr.split('\n').filter((line) => line.startsWith(`rast-backup: progress: ${operation} `));

/** The config of a second, empty local repository beside the fixture's (for copy). */
async function offsiteConfig(fixture: CliFixture): Promise<string> {
  const other = path.join(fixture.home, 'offsite.toml');
  await writeFile(other, `[storage]\nlocal.path = ${JSON.stringify(path.join(fixture.home, 'offsite'))}\n`);
  return other;
}

function terminalEnv(fixture: CliFixture): Record<string, string> {
  return { RAST_BACKUP_CONFIG: '', RAST_BACKUP_STATE_DIR: path.join(fixture.home, 'state') };
}

// ---

const terminal = suite('progress in a terminal (tmux)');

testNeeding(
  terminal,
  tmuxAvailable,
  'tmux',
  'create, restore, verify and prune draw a bar with bytes done of the total, %, rate and ETA, and clear it at the end',
  async () => {
    const fixture = await CliFixture.create();
    const source = await sixMebibytes(fixture);
    const env = terminalEnv(fixture);
    const run = (args: string[]) => runInTerminal([BINARY, ...args, '--config', fixture.config], { env });

    const create = await run(['create', source]);
    assert.is(create.exit, 0, create.screen);
    const written = create.written.replace(ESCAPES, '');
    // The total of a create is an estimate: `~` before it, its percentage and ETA.
    const bar = new RegExp(String.raw`create \S*data  [█░]{20} ~\d+% \| ${SIZE} of ~${SIZE} \| ${SIZE}/s \| ETA ~\S+`);
    assert.match(written, bar, `no create bar in what the terminal received:\n${JSON.stringify(written)}`);
    // Drawn more than once (at its first event, and at the end), always in place: the screen keeps no line of it.
    assert.ok((written.match(/create \S*data {2}/g) ?? []).length >= 2, written);
    assert.match(create.screen, /full, 47 entries/);
    assert.not.match(create.screen, /ETA|█/);

    const destination = path.join(fixture.home, 'restored');
    const restore = await run(['restore', 'latest', destination]);
    assert.is(restore.exit, 0, restore.screen);
    // From the manifests: an exact total, no `~`.
    assert.match(
      restore.written.replace(ESCAPES, ''),
      new RegExp(String.raw`restore \S+  [█░]{20} \d+% \| ${SIZE} of ${SIZE} \| ${SIZE}/s \| ETA \S+`),
    );
    assert.not.match(restore.screen, /ETA|█/);

    const verify = await run(['verify', 'latest']);
    assert.is(verify.exit, 0, verify.screen);
    assert.match(verify.written.replace(ESCAPES, ''), new RegExp(String.raw`verify \S+  [█░]{20} 100% \| ${SIZE} of ${SIZE}`));

    await appendFile(path.join(source, 'small0'), 'changed');
    assert.is(fixture.cli(['create', source]).status, 0);
    const prune = await run(['prune', '--keep-last', '1']);
    assert.is(prune.exit, 0, prune.screen);
    assert.match(prune.written.replace(ESCAPES, ''), new RegExp(String.raw`prune 1 backup  [█░]{20} 100% \| ${SIZE} of ${SIZE}`));
    assert.match(prune.screen, /removed 1 of 2 backups/);

    // --json and --progress=none: nothing but the command's own output.
    for (const flag of ['--json', '--progress=none']) {
      const quiet = await run(['create', source, flag]);
      assert.is(quiet.exit, 0, quiet.screen);
      assert.not.match(quiet.written, /ETA|█|MiB\/s/, flag);
    }
  },
);

testNeeding(
  terminal,
  tmuxAvailable,
  'tmux',
  'copy and repair draw a bar with the stored bytes done of the total, %, rate and ETA, and clear it at the end',
  async () => {
    const fixture = await CliFixture.create();
    const source = await sixMebibytes(fixture);
    assert.is(fixture.cli(['create', source]).status, 0);
    const other = await offsiteConfig(fixture);
    const env = terminalEnv(fixture);
    const run = (args: string[]) => runInTerminal([BINARY, ...args, '--config', fixture.config], { env });

    const copy = await run(['copy', 'latest', '--to-config', other]);
    assert.is(copy.exit, 0, copy.screen);
    const copied = copy.written.replace(ESCAPES, '');
    assert.match(copied, new RegExp(String.raw`copy latest  [█░]{20} 100% \| (${SIZE}) of \1 \| ${SIZE}/s \| ETA \S+`), copied);
    assert.match(copy.screen, /copied \S+ into local/);
    assert.not.match(copy.screen, /ETA|█/);

    const repair = await run(['repair', 'latest']);
    assert.is(repair.exit, 0, repair.screen);
    const repaired = repair.written.replace(ESCAPES, '');
    assert.match(repaired, new RegExp(String.raw`repair \S+  [█░]{20} 100% \| (${SIZE}) of \1 \| ${SIZE}/s \| ETA \S+`), repaired);
    assert.match(repair.screen, /nothing to repair/);
    assert.not.match(repair.screen, /ETA|█/);
  },
);

terminal.run();

// ---

const plain = suite('--progress=plain and no terminal');

plain('plain prints lines without terminal codes (for journals); auto prints nothing when stderr is no terminal', async () => {
  const fixture = await CliFixture.create();
  const source = await sixMebibytes(fixture);
  const env = { ...process.env, RAST_BACKUP_CONFIG: '', RAST_BACKUP_STATE_DIR: path.join(fixture.home, 'state') };

  const quiet = fixture.cli(['create', source]);
  assert.is(quiet.status, 0, quiet.stderr);
  assert.is(quiet.stderr, '', 'stderr is a pipe: no progress');

  const create = fixture.cli(['create', source, '--progress=plain', '--json'], { env: { ...env, RAST_BACKUP_PROGRESS_INTERVAL: '0.05' } });
  assert.is(create.status, 0, create.stderr);
  assert.not.match(create.stderr, /\x1b|\r/);
  const lines = plainLines(create.stderr, 'create');
  assert.ok(lines.length >= 1, create.stderr);
  assert.is(lines.length, create.stderr.trim().split('\n').length, `only progress lines:\n${create.stderr}`);
  JSON.parse(create.stdout);
  // The last line counts every byte stored, of the estimate made from the tree (du and tar's bytes per entry).
  // (`…, past ~<estimate>, <rate>` if the work passed the estimate.)
  const last = new RegExp(String.raw`: (${SIZE})(?: of |, past )~(${SIZE})(?: \(~\d+%\))?, ${SIZE}/s(?:, ETA ~\S+)?$`).exec(lines.at(-1)!);
  assert.ok(last, lines.at(-1));
  const size = JSON.parse(create.stdout).size as number;
  assert.ok(Math.abs(bytesOf(last![1]!) - size) <= 0.05 * 1024 * 1024, `${last![1]} stored, ${size} bytes`);
  assert.ok(Math.abs(bytesOf(last![2]!) - size) / size < 0.05, `estimate ${last![2]} for ${size} bytes`);

  const restore = fixture.cli(['restore', 'latest', path.join(fixture.home, 'restored'), '--progress=plain'], { env });
  assert.is(restore.status, 0, restore.stderr);
  assert.match(plainLines(restore.stderr, 'restore').at(-1)!, new RegExp(String.raw`: (${SIZE}) of \1 \(100%\), ${SIZE}/s, ETA 0s$`));

  // A partial restore fetches what the format finds it needs: bytes and rate, no total.
  const partial = fixture.cli(['restore', 'latest', path.join(fixture.home, 'partial'), '--include', 'big1', '--progress=plain'], { env });
  assert.is(partial.status, 0, partial.stderr);
  assert.match(plainLines(partial.stderr, 'restore').at(-1)!, new RegExp(String.raw`: ${SIZE}, ${SIZE}/s$`));

  const bad = fixture.cli(['verify', 'latest', '--progress=sometimes']);
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /usage error.*--progress/);
});

plain('copy and repair count the stored bytes of what they copy or check, from the manifests', async () => {
  const fixture = await CliFixture.create();
  const source = await sixMebibytes(fixture);
  const env = { ...process.env, RAST_BACKUP_CONFIG: '', RAST_BACKUP_STATE_DIR: path.join(fixture.home, 'state') };
  const made = fixture.json(['create', source]);
  const other = await offsiteConfig(fixture);

  const copy = fixture.cli(['copy', made.id, '--to-config', other, '--progress=plain', '--json'], { env });
  assert.is(copy.status, 0, copy.stderr);
  assert.is(JSON.parse(copy.stdout).copied, 1);
  const copied = new RegExp(String.raw`: (${SIZE}) of \1 \(100%\), ${SIZE}/s, ETA 0s$`).exec(plainLines(copy.stderr, 'copy').at(-1) ?? '');
  assert.ok(copied, copy.stderr);
  // Rounded as shown (one decimal of MiB).
  assert.ok(Math.abs(bytesOf(copied![1]!) - made.storedSize) <= 0.05 * 1024 * 1024, `${copied![1]} copied, ${made.storedSize} stored`);

  const repair = fixture.cli(['repair', made.id, '--progress=plain'], { env });
  assert.is(repair.status, 0, repair.stderr);
  const checked = new RegExp(String.raw`: (${SIZE}) of \1 \(100%\)`).exec(plainLines(repair.stderr, 'repair').at(-1) ?? '');
  assert.ok(checked, repair.stderr);
  assert.ok(Math.abs(bytesOf(checked![1]!) - made.storedSize) <= 0.05 * 1024 * 1024, `${checked![1]} checked, ${made.storedSize} stored`);

  // Without a terminal and without --progress: nothing on stderr.
  const quiet = fixture.cli(['repair', made.id], { env });
  assert.is(quiet.status, 0, quiet.stderr);
  assert.is(quiet.stderr, '');
});

plain('an incremental estimates its total from the source’s last incremental; the first has none', async () => {
  const fixture = await CliFixture.create();
  const source = await sixMebibytes(fixture);
  const env = { ...process.env, RAST_BACKUP_CONFIG: '', RAST_BACKUP_STATE_DIR: path.join(fixture.home, 'state') };
  const create = (...args: string[]) => {
    const result = fixture.cli(['create', source, '--parent', 'latest', '--progress=plain', '--json', ...args], { env });
    assert.is(result.status, 0, result.stderr);
    return { line: plainLines(result.stderr, 'create').at(-1)!, size: JSON.parse(result.stdout).size as number };
  };
  assert.is(fixture.cli(['create', source]).status, 0);
  await writeFile(path.join(source, 'big0'), randomBytes(1 << 20));
  const first = create();
  assert.match(first.line, new RegExp(String.raw`: ${SIZE}, ${SIZE}/s$`), 'no earlier incremental: no total');
  await writeFile(path.join(source, 'big1'), randomBytes(1 << 20));
  const second = create();
  const total = new RegExp(String.raw`(?: of |, past )~(${SIZE})[ ,]`).exec(second.line);
  assert.ok(total, second.line);
  assert.ok(
    Math.abs(bytesOf(total![1]!) - first.size) <= 0.05 * 1024 * 1024,
    `${total![1]}: the first incremental was ${first.size} bytes`,
  );
});

testNeeding(plain, btrfsAvailable, btrfsNeeds, 'a full btrfs-send backup estimates its total from the snapshot’s tree', async () => {
  const fixture = await CliFixture.create();
  const source = await fixture.subvolume({});
  for (let n = 0; n < 4; n++) await writeFile(path.join(source, `big${n}`), randomBytes(1 << 20));
  for (let n = 0; n < 200; n++) await writeFile(path.join(source, `small${n}`), randomBytes(2000));
  const env = { ...process.env, RAST_BACKUP_CONFIG: '', RAST_BACKUP_STATE_DIR: path.join(fixture.home, 'state') };
  const result = fixture.cli(['create', source, '--progress=plain', '--json'], { env });
  assert.is(result.status, 0, result.stderr);
  const manifest = JSON.parse(result.stdout);
  assert.is(manifest.format, 'btrfs-send');
  const total = new RegExp(String.raw`(?: of |, past )~(${SIZE})[ ,]`).exec(plainLines(result.stderr, 'create').at(-1)!);
  assert.ok(total, result.stderr);
  assert.ok(Math.abs(bytesOf(total![1]!) - manifest.size) / manifest.size < 0.05, `estimate ${total![1]} for ${manifest.size} bytes`);
});

plain.run();
