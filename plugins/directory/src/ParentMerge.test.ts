import { spawnSync } from 'node:child_process';
import { chmod, link, mkdir, rename, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  comparePaths,
  createBackup,
  createRuntime,
  restoreBackup,
  verifyBackup,
  type IndexEntry,
  type Manifest,
  type Runtime,
} from '@rast-backup/core';
import { silentLogger, temporaryDirectory } from '@rast-backup/core/testing';
import local from '@rast-backup/plugin-local';
import zstd from '@rast-backup/plugin-zstd';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import directory from './index.js';
import { fingerprint } from './TreeFingerprint.fixture.js';

async function runtime(): Promise<Runtime> {
  const configDirectory = await temporaryDirectory();
  const configFile = path.join(configDirectory, 'config.toml');
  await writeFile(configFile, `[storage]\nlocal.path = ${JSON.stringify(path.join(configDirectory, 'repository'))}\n`);
  return createRuntime({ configFile, defaultPresets: [local, directory, zstd], resolveFrom: [], log: silentLogger() });
}

const bytes = (...parts: Array<string | number[]>) =>
  Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part) : Buffer.from(part))));
const under = (root: string, ...names: Array<string | Buffer>) =>
  Buffer.concat([Buffer.from(root), ...names.flatMap((name) => [Buffer.from('/'), Buffer.from(name)])]);

/** What a backup's index says of each path, without where the data lies. */
async function described(rt: Runtime, manifest: Manifest): Promise<{ paths: string[]; facts: Map<string, string>; fresh: string[] }> {
  const paths: string[] = [];
  const facts = new Map<string, string>();
  const fresh: string[] = [];
  for await (const entry of (await rt.repository.indexes.open(manifest)).all()) {
    paths.push(entry.path);
    const { from, ranges, ...rest } = entry as IndexEntry;
    facts.set(entry.path, JSON.stringify(rest));
    if (from === manifest.id && entry.type !== 'directory') fresh.push(entry.path);
    void ranges;
  }
  return { paths, facts, fresh };
}

const merge = suite('directory backups: the walk merged with the parent index');

merge(
  'renames, deletions, type changes and hard links: each incremental indexes what a full backup would, and restores the tree',
  async () => {
    const source = await temporaryDirectory();
    // Names whose index order is not their byte order: 0x80 (escaped U+DC80) sorts after é (U+00E9), U+E000 after 0xff.
    await mkdir(path.join(source, 'a'));
    await writeFile(path.join(source, 'a', 'inside'), 'a/inside');
    await mkdir(path.join(source, 'a-b'));
    await writeFile(path.join(source, 'a-b', 'f'), 'a-b/f');
    await writeFile(under(source, bytes('x', [0x80])), 'escaped 0x80');
    await writeFile(path.join(source, 'xé'), 'e acute');
    await writeFile(under(source, bytes('y', [0xff])), 'escaped 0xff');
    await writeFile(path.join(source, 'y\ue000'), 'private use');
    await mkdir(path.join(source, 'dir', 'sub'), { recursive: true });
    for (const name of ['one', 'two', 'three']) await writeFile(path.join(source, 'dir', 'sub', name), name.repeat(100));
    await writeFile(path.join(source, 'becomes-dir'), 'a file first');
    await mkdir(path.join(source, 'becomes-file', 'deep'), { recursive: true });
    await writeFile(path.join(source, 'becomes-file', 'deep', 'gone'), 'gone with its directory');
    await writeFile(path.join(source, 'becomes-link'), 'a file first');
    await symlink('a', path.join(source, 'link-becomes-file'));
    spawnSync('mkfifo', [path.join(source, 'fifo-becomes-file')]);
    await writeFile(path.join(source, 'leader'), 'linked data');
    await link(path.join(source, 'leader'), path.join(source, 'dir', 'follower'));
    await link(path.join(source, 'leader'), path.join(source, 'z-follower'));
    await writeFile(path.join(source, 'unchanged'), 'never touched');

    const rt = await runtime();
    const check = await runtime();
    const chain: Array<{ manifest: Manifest; state: Record<string, string> }> = [];
    const backUp = async (expectFresh?: string[]) => {
      const manifest = await createBackup(rt, { path: source, ...(chain.length > 0 && { parent: 'latest' }) });
      const state = await fingerprint(source);
      const merged = await described(rt, manifest);
      // The model: a full backup of the same tree, made apart.
      const full = await described(check, await createBackup(check, { path: source }));
      assert.equal(merged.paths, [...merged.paths].sort(comparePaths), 'index order');
      assert.equal(merged.paths, full.paths);
      for (const [entryPath, facts] of full.facts) assert.is(merged.facts.get(entryPath), facts, entryPath);
      if (expectFresh) assert.equal(merged.fresh.sort(), expectFresh.sort());
      chain.push({ manifest, state });
    };
    await backUp();

    // Renames (a file, a directory with its subtree), deletions, type changes both ways, the hard links' leader removed.
    await rename(path.join(source, 'dir', 'sub'), path.join(source, 'moved'));
    await rename(under(source, bytes('x', [0x80])), under(source, bytes('y', [0x80])));
    await rm(path.join(source, 'becomes-dir'));
    await mkdir(path.join(source, 'becomes-dir'));
    await writeFile(path.join(source, 'becomes-dir', 'child'), 'now a directory');
    await rm(path.join(source, 'becomes-file'), { recursive: true });
    await writeFile(path.join(source, 'becomes-file'), 'now a file');
    await rm(path.join(source, 'becomes-link'));
    await symlink('unchanged', path.join(source, 'becomes-link'));
    await rm(path.join(source, 'link-becomes-file'));
    await writeFile(path.join(source, 'link-becomes-file'), 'now a file');
    await rm(path.join(source, 'fifo-becomes-file'));
    await writeFile(path.join(source, 'fifo-becomes-file'), 'now a file');
    await rm(path.join(source, 'leader'));
    await rm(path.join(source, 'a-b', 'f'));
    await backUp([
      'moved/one',
      'moved/three',
      'moved/two',
      'y\udc80',
      'becomes-dir/child',
      'becomes-file',
      'becomes-link',
      'link-becomes-file',
      'fifo-becomes-file',
      // The first link in index order now holds the data, the other links to it.
      'dir/follower',
      'z-follower',
    ]);

    // Back again: the data comes from older backups of the chain; a new hard link; mode and mtime changes only.
    await rename(path.join(source, 'moved'), path.join(source, 'dir', 'sub'));
    await link(path.join(source, 'dir', 'follower'), path.join(source, 'a', 'new-link'));
    await chmod(path.join(source, 'unchanged'), 0o600);
    await utimes(path.join(source, 'xé'), 1_000_000_000, 1_000_000_000);
    await rm(path.join(source, 'becomes-dir'), { recursive: true });
    await backUp();
    await writeFile(path.join(source, 'dir', 'sub', 'two'), 'changed');
    await backUp(['dir/sub/two']);

    for (const { manifest, state } of chain) {
      const destination = path.join(await temporaryDirectory(), 'restored');
      await restoreBackup(rt, { backup: manifest.id, destination, include: [] });
      assert.equal(await fingerprint(destination), state, `restore of ${manifest.id}`);
      await verifyBackup(rt, { backup: manifest.id });
    }
  },
);

merge.run();
