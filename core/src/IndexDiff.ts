import type { IndexEntry } from './FileIndex.js';
import { comparePaths } from './IndexOrder.js';
import type { IndexRun } from './IndexRun.js';
import type { IndexView } from './IndexView.js';

/** What differs between two entries of one path. */
export type EntryChange = 'type' | 'content' | 'mode' | 'owner' | 'xattrs';

/** One path that differs between two backups' indexes. */
export type IndexDifference =
  | { path: string; change: 'added'; after: IndexEntry }
  | { path: string; change: 'removed'; before: IndexEntry }
  | { path: string; change: 'modified'; changes: EntryChange[]; before: IndexEntry; after: IndexEntry };

/** Ids of the backups in each side's chain: a data location is compared only where both sides could share it. */
export interface DiffChains {
  before: ReadonlySet<string>;
  after: ReadonlySet<string>;
}

/** The backups whose streams hold a file's data, and where. */
function location(entry: IndexEntry): { backups: string[]; where: string } {
  if (!entry.ranges) return { backups: [entry.from], where: entry.from };
  return {
    backups: entry.ranges.map((range) => range.from),
    where: entry.ranges.map((range) => `${range.from}:${range.start}-${range.end}:${range.path}`).join('\n'),
  };
}

const sameXattrs = (a: IndexEntry['xattrs'], b: IndexEntry['xattrs']) => {
  const keys = Object.keys(a ?? {});
  return keys.length === Object.keys(b ?? {}).length && keys.every((key) => b?.[key] === a![key]);
};

/**
 * How `after` differs from `before` (one path). Content: the mtime, the size, a symlink's target, a hard link's
 * file, a device's numbers, and for a file the location of its data (the spans of the backups' streams that
 * hold it, or the backup whose stream holds it). That location is compared only when the backups holding one
 * side's data are in the other side's chain (two full backups of the same tree compare by size and mtime), and
 * when the mode, owner and xattrs are the same (a format may store a file again for a change of those alone).
 */
export function entryChanges(before: IndexEntry, after: IndexEntry, chains: DiffChains): EntryChange[] {
  if (before.type !== after.type) return ['type'];
  const changes: EntryChange[] = [];
  let content =
    before.mtime !== after.mtime ||
    before.size !== after.size ||
    before.target !== after.target ||
    before.linkTo !== after.linkTo ||
    before.devMajor !== after.devMajor ||
    before.devMinor !== after.devMinor;
  const metadata =
    before.mode !== after.mode || before.uid !== after.uid || before.gid !== after.gid || !sameXattrs(before.xattrs, after.xattrs);
  // A format may store a file's data again when only its metadata changed (a directory source does, on a new ctime).
  if (!content && !metadata && after.type === 'file') {
    const [was, is] = [location(before), location(after)];
    const comparable = was.backups.every((id) => chains.after.has(id)) || is.backups.every((id) => chains.before.has(id));
    content = comparable && was.where !== is.where;
  }
  if (content) changes.push('content');
  if (before.mode !== after.mode) changes.push('mode');
  if (before.uid !== after.uid || before.gid !== after.gid) changes.push('owner');
  if (!sameXattrs(before.xattrs, after.xattrs)) changes.push('xattrs');
  return changes;
}

/** Every path one run holds (entries and tombstones), in index order, a block at a time. */
async function* runPaths(run: IndexRun): AsyncGenerator<string> {
  for (let block = 0; block < run.firsts.length; block++) {
    const records = await run.readBlock(block);
    for (let at = 0; at < records.length; at++) yield records.path(at);
  }
}

/** The paths any of `runs` holds, in index order, each once. */
async function* pathsOf(runs: readonly IndexRun[]): AsyncGenerator<string> {
  const cursors = runs.map(runPaths);
  const heads = await Promise.all(cursors.map((cursor) => cursor.next()));
  for (;;) {
    let least: string | undefined;
    for (const head of heads) if (!head.done && (least === undefined || comparePaths(head.value, least) < 0)) least = head.value;
    if (least === undefined) return;
    yield least;
    for (let at = 0; at < heads.length; at++) if (!heads[at]!.done && heads[at]!.value === least) heads[at] = await cursors[at]!.next();
  }
}

/** Both views' entries merged by path, in index order. */
async function* pairs(before: IndexView, after: IndexView): AsyncGenerator<[IndexEntry | undefined, IndexEntry | undefined]> {
  const [left, right] = [before.all(), after.all()];
  let [a, b] = await Promise.all([left.next(), right.next()]);
  while (!a.done || !b.done) {
    const order = a.done ? 1 : b.done ? -1 : comparePaths(a.value.path, b.value.path);
    yield [order <= 0 ? a.value : undefined, order >= 0 ? b.value : undefined] as [IndexEntry | undefined, IndexEntry | undefined];
    [a, b] = await Promise.all([order <= 0 ? left.next() : a, order >= 0 ? right.next() : b]);
  }
}

/**
 * The paths added, removed and modified from `before` to `after`, in index order. Layers both views share
 * (the bottom runs of one chain) hold the same records on both sides: only the paths of the other layers are
 * looked up, so the cost follows the change. Otherwise both views are read whole, side by side, in index order.
 */
export async function* diffIndexes(before: IndexView, after: IndexView, chains: DiffChains): AsyncGenerator<IndexDifference> {
  let shared = 0;
  const [was, is] = [before.layers, after.layers];
  while (shared < Math.min(was.length, is.length) && was.at(-1 - shared)!.backupId === is.at(-1 - shared)!.backupId) shared++;
  async function* compared(): AsyncGenerator<[IndexEntry | undefined, IndexEntry | undefined]> {
    if (shared === 0) return yield* pairs(before, after);
    for await (const path of pathsOf([...was.slice(0, was.length - shared), ...is.slice(0, is.length - shared)]))
      yield await Promise.all([before.get(path), after.get(path)]);
  }
  for await (const [old, now] of compared()) {
    if (!old && now) yield { path: now.path, change: 'added', after: now };
    else if (old && !now) yield { path: old.path, change: 'removed', before: old };
    else if (old && now) {
      const changes = entryChanges(old, now, chains);
      if (changes.length > 0) yield { path: now.path, change: 'modified', changes, before: old, after: now };
    }
  }
}
