import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Exclusion, type Manifest, type SnapshotRequest } from '@rast-backup/core';
import { temporaryDirectory } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { directorySnapshot } from './DirectorySource.js';
import { takeStartedWalk } from './StartedWalks.js';
import type { StartedWalk } from './TreeWalker.js';

async function tree(): Promise<string> {
  const source = await temporaryDirectory();
  await mkdir(path.join(source, 'a'));
  await writeFile(path.join(source, 'a', 'f'), 'content');
  await writeFile(path.join(source, 'g'), '');
  return source;
}

const request = (source: string, parent?: Manifest): SnapshotRequest => ({
  path: source,
  parent,
  backupId: 'test',
  repository: 'test',
  exclude: [],
  exclusion: new Exclusion([]),
});

async function paths(walk: StartedWalk): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of walk.entries({ onError: (relative) => assert.unreachable(relative), onMountPointSkipped: () => {} })) {
    found.push(entry.path);
  }
  return found;
}

const started = suite('directory source: the walk started with the snapshot');

started('an incremental snapshot starts a walk of lstats alone, which the format takes once', async () => {
  const snapshot = await directorySnapshot(request(await tree(), {} as Manifest), { oneFileSystem: true });
  assert.is(takeStartedWalk(snapshot, true), undefined, 'a walk with content is not the one started');
  const full = await directorySnapshot(request(await tree(), {} as Manifest), { oneFileSystem: true });
  const walk = takeStartedWalk(full, false);
  assert.ok(walk);
  assert.is(walk.details, false);
  assert.is(takeStartedWalk(full, false), undefined, 'taken once');
  assert.equal(await paths(walk), ['.', 'a', 'a/f', 'g']);
  await full.release('committed');
});

started('a full snapshot starts a walk with content; a released snapshot leaves none to take', async () => {
  const source = await tree();
  const snapshot = await directorySnapshot(request(source), { oneFileSystem: true });
  const walk = takeStartedWalk(snapshot, true);
  assert.ok(walk);
  const entries = [];
  for await (const entry of walk.entries({ onError: () => {}, onMountPointSkipped: () => {} })) entries.push(entry);
  assert.equal(
    entries.map((entry) => entry.path),
    ['.', 'a', 'a/f', 'g'],
  );
  assert.is(entries[2]!.details?.content?.data.toString(), 'content');
  assert.equal(entries[2]!.absolute, Buffer.from(path.join(source, 'a', 'f')));
  const released = await directorySnapshot(request(source), { oneFileSystem: true });
  await released.release('failed');
  assert.is(takeStartedWalk(released, true), undefined);
});

started.run();
