import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { IndexEntry } from '@rast-backup/core';
import { temporaryDirectory, testNeeding } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cliAsync, mapLimited, writeConfig } from '../support.js';
import { assertNoCrash, stderrLines } from './expectations.js';
import { entry, forgedId, forgeBackup, hasZstd } from './ForgedBackup.js';
import { claimSize, tarArchive, type Member } from './TarArchive.js';

const test = suite('hostile: tar archive tricks');

/** Where a trick aims: `sandbox` holds `dest` (the restore destination) and files that must not change. */
interface Aim {
  id: string;
  sandbox: string;
}

interface Trick {
  name: string;
  /** The archive members and the index entries (besides the root `.`, which both get). */
  build: (aim: Aim) => { members: Member[]; entries: IndexEntry[]; patch?: (archive: Buffer) => Buffer };
  /** Exit status and pattern of `restore`. */
  restore: [number, RegExp];
  zstd?: boolean;
}

const PWNED = Buffer.from('pwned\n');
/** A path at the filesystem's root that an absolute-path trick aims at. */
const ROOT_TARGET = `/rast-hostile-pwned-${process.pid}`;

const file = (id: string, name: string, data = PWNED): { member: Member; entry: IndexEntry } => ({
  member: { header: { name, type: 'file' }, data },
  entry: entry(id, { path: name, type: 'file', size: data.length }),
});
const symlink = (id: string, name: string, target: string) => ({
  member: { header: { name, type: 'symlink' as const, linkname: target } },
  entry: entry(id, { path: name, type: 'symlink', target }),
});
const hardlink = (id: string, name: string, linkTo: string) => ({
  member: { header: { name, type: 'link' as const, linkname: linkTo } },
  entry: entry(id, { path: name, type: 'hardlink', linkTo }),
});
const both = (...items: Array<{ member: Member; entry: IndexEntry }>) => ({
  members: items.map((item) => item.member),
  entries: items.map((item) => item.entry),
});

const UNSAFE = /RB020: .*(unsafe path|refusing to restore)/;

const TRICKS: Trick[] = [
  {
    name: '../ path in the stream only',
    build: ({ id }) => {
      const ok = file(id, 'ok.txt', Buffer.from('ok\n'));
      return { members: [ok.member, file(id, '../outside.txt').member], entries: [ok.entry] };
    },
    restore: [1, /RB020: backup \S+ holds an unsafe path "\.\.\/outside\.txt"/],
  },
  {
    name: '../ path in index and stream',
    build: ({ id }) => both(file(id, '../outside.txt')),
    restore: [1, /RB020: backup \S+ holds an unsafe path "\.\.\/outside\.txt"/],
  },
  {
    name: 'nested ../ path (sub/../../outside.txt)',
    build: ({ id }) => both(file(id, 'sub/../../outside.txt')),
    restore: [1, /RB020: .*unsafe path "sub\/\.\.\/\.\.\/outside\.txt"/],
  },
  {
    name: 'absolute path into the sandbox',
    build: ({ id, sandbox }) => both(file(id, path.join(sandbox, 'victim', 'pwned.txt'))),
    restore: [1, /RB020: .*unsafe path "\//],
  },
  {
    name: 'absolute path at the filesystem root',
    build: ({ id }) => both(file(id, ROOT_TARGET)),
    restore: [1, /RB020: .*unsafe path "\/rast-hostile-pwned/],
  },
  {
    name: 'absolute path in the stream only',
    build: ({ id, sandbox }) => {
      const ok = file(id, 'ok.txt', Buffer.from('ok\n'));
      return { members: [file(id, path.join(sandbox, 'outside.txt')).member, ok.member], entries: [ok.entry] };
    },
    restore: [1, /RB020: .*unsafe path "\//],
  },
  {
    name: 'symlink to the parent, then a file written through it',
    build: ({ id }) => both(symlink(id, 'link', '..'), file(id, 'link/outside.txt')),
    restore: [1, UNSAFE],
    zstd: true,
  },
  {
    name: 'symlink to an absolute directory, then a file through it',
    build: ({ id, sandbox }) => both(symlink(id, 'abs', path.join(sandbox, 'victim')), file(id, 'abs/pwned.txt')),
    restore: [1, UNSAFE],
  },
  {
    name: 'symlink to a directory, then a directory and a file through it',
    build: ({ id, sandbox }) => {
      const link = symlink(id, 'dir', path.join(sandbox, 'victim'));
      const directory = {
        member: { header: { name: 'dir', type: 'directory' as const } },
        entry: entry(id, { path: 'dir', type: 'directory' }),
      };
      return both(link, directory, file(id, 'dir/pwned.txt'));
    },
    restore: [1, /RB0(20|16): /],
  },
  {
    name: 'symlink to an outside file, then a file of the same name',
    build: ({ id, sandbox }) => both(symlink(id, 'x', path.join(sandbox, 'outside.txt')), file(id, 'x')),
    restore: [1, /RB0(20|16): /],
  },
  {
    name: 'hard link to ../',
    build: ({ id }) => both(hardlink(id, 'hl', '../outside.txt')),
    restore: [1, /RB020: .*unsafe path "\.\.\/outside\.txt"/],
  },
  {
    name: 'hard link to an absolute path',
    build: ({ id, sandbox }) => both(hardlink(id, 'hl', path.join(sandbox, 'outside.txt'))),
    restore: [1, /RB020: .*unsafe path "\//],
  },
  {
    name: 'hard link to a symlink that points outside',
    build: ({ id, sandbox }) => both(symlink(id, 'sl', path.join(sandbox, 'outside.txt')), hardlink(id, 'hl', 'sl')),
    restore: [1, /RB0(20|16): /],
  },
  {
    name: 'hard link to a path the backup does not hold',
    build: ({ id }) => both(hardlink(id, 'hl', 'nothing-here')),
    restore: [1, /RB0(20|16): /],
  },
  {
    name: 'path with a NUL byte (index)',
    build: ({ id }) => ({
      members: [file(id, 'a.txt').member],
      entries: [{ ...file(id, 'a.txt').entry, path: 'a\u0000/../../outside.txt' }],
    }),
    restore: [1, /RB020: /],
  },
  {
    name: 'index entry whose data is in a backup outside its chain',
    build: ({ id }) => {
      const ok = file(id, 'ok.txt', Buffer.from('ok\n'));
      const elsewhere = file(id, 'elsewhere.txt');
      return { members: [ok.member], entries: [ok.entry, { ...elsewhere.entry, from: '20200101T000000Z-abcdef' }] };
    },
    restore: [1, /RB020: .*"elsewhere\.txt": the index says backup 20200101T000000Z-abcdef holds it, which is not in its chain/],
  },
  {
    name: 'huge size in the tar header only',
    build: ({ id }) => ({
      ...both(file(id, 'big.bin', Buffer.alloc(1000, 1))),
      patch: (archive) => claimSize(archive, 'big.bin', 8 * 1024 ** 3 - 1),
    }),
    restore: [1, /RB016: /],
  },
  {
    name: 'huge size in header and index, data cut short',
    build: ({ id }) => {
      const big = file(id, 'big.bin', Buffer.alloc(1000, 1));
      return {
        members: [big.member],
        entries: [{ ...big.entry, size: 8 * 1024 ** 3 - 1 }],
        patch: (archive) => claimSize(archive, 'big.bin', 8 * 1024 ** 3 - 1),
      };
    },
    restore: [1, /RB016: /],
  },
];

/** Every path below `root` (except those in `skip`), with what it is and holds. */
async function snapshot(root: string, skip: string[]): Promise<Record<string, string>> {
  const found: Record<string, string> = {};
  const walk = async (directory: string) => {
    for (const name of (await readdir(directory)).sort()) {
      const absolute = path.join(directory, name);
      if (skip.includes(absolute)) continue;
      const stats = await lstat(absolute);
      const relative = path.relative(root, absolute);
      if (stats.isSymbolicLink()) found[relative] = `symlink ${await readlink(absolute)}`;
      else if (stats.isDirectory()) {
        // Not its mtime: creating and removing the destination changes its parent's.
        found[relative] = `directory ${stats.mode.toString(8)}`;
        await walk(absolute);
      } else
        found[relative] = `${stats.isFile() ? 'file' : 'other'} ${stats.mode.toString(8)} ${stats.nlink} ${stats.mtimeMs} ${createHash(
          'sha256',
        )
          .update(await readFile(absolute))
          .digest('hex')}`;
    }
  };
  await walk(root);
  return found;
}

async function runTrick(home: string, trick: Trick, number: number): Promise<string[]> {
  const failures: string[] = [];
  const attempt = (fn: () => void) => {
    try {
      fn();
    } catch (error) {
      failures.push(`${trick.name}: ${(error as Error).message}`);
    }
  };
  const caseHome = path.join(home, String(number));
  const sandbox = path.join(caseHome, 'sandbox');
  const repository = path.join(caseHome, 'repository');
  await mkdir(path.join(sandbox, 'victim'), { recursive: true });
  await writeFile(path.join(sandbox, 'outside.txt'), 'original\n');
  await writeFile(path.join(sandbox, 'victim', 'keep.txt'), 'keep\n');
  const config = await writeConfig(caseHome, `[storage]\nlocal.path = ${JSON.stringify(repository)}\n`);
  const id = forgedId();
  const built = trick.build({ id, sandbox });
  const root = {
    member: { header: { name: '.', type: 'directory' as const } },
    entry: entry(id, { path: '.', type: 'directory', mode: 0o755 }),
  };
  let stream = await tarArchive([root.member, ...built.members]);
  if (built.patch) stream = built.patch(stream);
  await forgeBackup(repository, { id, stream, entries: [root.entry, ...built.entries], sourcePath: '/forged', zstd: trick.zstd });

  const destination = path.join(sandbox, 'dest');
  // The host's state directory (its manifest cache) is the tool's own, outside the repository and the source.
  const state = path.join(caseHome, 'state');
  const before = await snapshot(caseHome, [destination, state]);
  const env = { RAST_BACKUP_STATE_DIR: state };
  const restored = await cliAsync(['restore', id, destination, '--config', config], { env, timeoutMs: 30_000 });
  attempt(() => {
    assertNoCrash(restored, `${trick.name}: restore`);
    assert.is(restored.status, trick.restore[0], `restore: exit ${restored.status}:\n${restored.stderr}`);
    const errors = stderrLines(restored).filter((line) => !line.startsWith('rast-backup: warning: '));
    assert.is(errors.length, 1, `restore: expected one error line:\n${restored.stderr}`);
    assert.match(errors[0]!, trick.restore[1], `restore: ${errors[0]} does not match ${trick.restore[1]}`);
  });
  const after = await snapshot(caseHome, [destination, state]);
  attempt(() => assert.equal(after, before, 'restore changed something outside the destination'));

  // A backup that restore refuses is not intact.
  const verified = await cliAsync(['verify', id, '--config', config], { env, timeoutMs: 30_000 });
  attempt(() => {
    assertNoCrash(verified, `${trick.name}: verify`);
    assert.is(verified.status, 1, `verify: exit ${verified.status}, expected 1 (damaged):\n${verified.stdout}${verified.stderr}`);
    assert.match(verified.stderr, new RegExp(`rast-backup: damaged: backup ${id}`), `verify: ${verified.stderr}`);
  });
  return failures;
}

testNeeding(
  test,
  hasZstd,
  'the zstd command',
  'archives that try to write outside the destination are refused, change nothing outside it, and do not verify',
  async () => {
    const home = await temporaryDirectory('rast-hostile-tar-');
    const failures = (await mapLimited(TRICKS, 2, (trick) => runTrick(home, trick, TRICKS.indexOf(trick)))).flat();
    // Checked once all tricks have run: tricks run two at a time, so one must not remove what another wrote.
    if (existsSync(ROOT_TARGET)) failures.push(`a restore created ${ROOT_TARGET}`);
    await rm(ROOT_TARGET, { force: true, recursive: true });
    assert.equal(failures, [], `${failures.length} failures:\n${failures.join('\n\n')}`);
  },
);

test.run();
