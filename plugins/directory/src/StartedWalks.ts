import type { Snapshot } from '@rast-backup/core';
import type { StartedWalk } from './TreeWalker.js';

/** The walk each directory snapshot started (see directorySnapshot), until the tar format takes it or the snapshot is released. */
const started = new WeakMap<Snapshot, StartedWalk>();

export function keepStartedWalk(snapshot: Snapshot, walk: StartedWalk): void {
  started.set(snapshot, walk);
}

/** Closes the snapshot's walk if nothing took it. */
export async function dropStartedWalk(snapshot: Snapshot): Promise<void> {
  const walk = started.get(snapshot);
  started.delete(snapshot);
  await walk?.close();
}

/** The snapshot's walk, if it started one that reads what `details` asks (another is closed): the caller iterates it. */
export function takeStartedWalk(snapshot: Snapshot, details: boolean): StartedWalk | undefined {
  const walk = started.get(snapshot);
  started.delete(snapshot);
  if (walk?.details === details) return walk;
  void walk?.close();
  return undefined;
}
