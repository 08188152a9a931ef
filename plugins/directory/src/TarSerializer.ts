import { open, readlink, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  displayPath,
  indexPath,
  IndexSpool,
  type IndexEntry,
  type IndexOutput,
  type SerializeContext,
  type Serialization,
} from '@rast-backup/core';
import tar from 'tar-stream';
import { binaryNameHeaders, hasBinaryName } from './BinaryPaxNames.js';
import { fileEntry, mayBeSparse, readSmallFile, shrankWarning, SMALL_FILE } from './FileContent.js';
import { deviceNumbers, paxTime, sameEntry, statsFields, unchangedStats } from './EntryDescription.js';
import { entryType } from './EntryStats.js';
import { readXattrs, xattrWarnings, type XattrFailure } from './ExtendedAttributes.js';
import { mergeWithParent } from './ParentMerge.js';
import { readAhead } from './ReadAhead.js';
import { takeStartedWalk } from './StartedWalks.js';
import { unchangedOnLine } from './StoredStats.js';
import { startWalk, type WalkedEntry } from './TreeWalker.js';

/**
 * The entry of a walked path. When its lstat shows it unchanged since `previous`, its symlink target and
 * xattrs are the parent's and are not read again.
 */
async function describe(
  walked: WalkedEntry,
  backupId: string,
  previous: IndexEntry | undefined,
  unreadXattrs: (walked: WalkedEntry, failures: XattrFailure[]) => void,
): Promise<IndexEntry> {
  const { stats } = walked;
  const entry: IndexEntry = { path: walked.path, ...statsFields(stats), from: backupId };
  const { type } = entry;
  if (type === 'char-device' || type === 'block-device') Object.assign(entry, deviceNumbers(stats.rdev));
  if (type === 'socket') return entry;
  if (previous && unchangedStats(previous, stats)) {
    if (previous.target !== undefined) entry.target = previous.target;
    if (previous.xattrs) entry.xattrs = previous.xattrs;
    return entry;
  }
  const { details } = walked;
  if (details) {
    if (details.target) entry.target = indexPath(details.target);
    if (details.xattrs) entry.xattrs = details.xattrs;
    if (details.xattrFailures) unreadXattrs(walked, details.xattrFailures);
    return entry;
  }
  if (type === 'symlink') entry.target = indexPath(await readlink(walked.absolute, { encoding: 'buffer' }));
  // In place, not in the thread pool: the walk has just stat'ed the entry, so a system call costs less than a round trip.
  const { xattrs, failures } = readXattrs(walked.absolute);
  if (xattrs) entry.xattrs = xattrs;
  if (failures) unreadXattrs(walked, failures);
  return entry;
}

function tarHeader(entry: IndexEntry): tar.Header {
  const typeOf: Record<string, tar.Header['type']> = {
    file: 'file',
    directory: 'directory',
    symlink: 'symlink',
    hardlink: 'link',
    fifo: 'fifo',
    'char-device': 'character-device',
    'block-device': 'block-device',
  };
  const pax: Record<string, string> = { mtime: paxTime(entry.mtime) };
  if (entry.uid > 0o7777777) pax.uid = String(entry.uid);
  if (entry.gid > 0o7777777) pax.gid = String(entry.gid);
  const header = {
    name: entry.path,
    type: typeOf[entry.type],
    size: entry.type === 'file' ? entry.size : 0,
    mode: entry.mode,
    uid: entry.uid,
    gid: entry.gid,
    mtime: new Date(Number(BigInt(entry.mtime) / 1_000_000n)),
    pax,
  } as tar.Header;
  if (entry.type === 'symlink') header.linkname = entry.target!;
  if (entry.type === 'hardlink') header.linkname = entry.linkTo!;
  if (entry.devMajor !== undefined) Object.assign(header, { devmajor: entry.devMajor, devminor: entry.devMinor });
  return header;
}

/**
 * Whether a walked entry is the parent's entry as it stands, judged from its lstat alone (what describe and
 * sameEntry would conclude, without building the entry): not for a hard-linked file (its leader is found in
 * order).
 */
function unchanged(walked: WalkedEntry, previous: IndexEntry | undefined): boolean {
  if (!previous) return false;
  const { stats } = walked;
  return previous.type === entryType(stats) && (previous.type !== 'file' || stats.nlink === 1n) && unchangedStats(previous, stats);
}

/** Entries described (lstat done, target and xattrs read) ahead of the one being written. */
const DESCRIBED_AHEAD = 32;

/**
 * Writes the tree as a POSIX pax tar stream (readable by `tar` alone) and its file index as it goes, both in
 * index order. With a parent index, the walk is merged with it (see ParentMerge): only the entries that changed
 * since the parent are read and written, and the index is given as those changes, with a tombstone for each
 * path gone. Neither index is held in memory: the records go to a spool.
 */
export function serializeTree(context: SerializeContext, options: { oneFileSystem: boolean }): Serialization {
  const { snapshot, backupId, parentIndex, log } = context;
  // The whole index (a full backup) or the changes to the parent's.
  const records = new IndexSpool();
  let entries = 0;
  let finished = false;
  const pack = tar.pack();
  // Every byte of the stream goes through push: the count before and after an entry is where it lies.
  let pushed = 0;
  const push = pack.push.bind(pack);
  pack.push = (data: Buffer | null) => {
    if (data) pushed += data.length;
    return push(data);
  };

  const produce = async () => {
    const leaders = new Map<string, string>();
    const unreadXattrs = (walked: WalkedEntry, failures: XattrFailure[]) => {
      for (const warning of xattrWarnings(displayPath(walked.path), failures)) log.warn(warning);
    };
    const mountPoints: string[] = [];
    // A full backup reads every entry whole; an incremental reads only what its lstat shows changed.
    const details = !parentIndex;
    const started =
      takeStartedWalk(snapshot, details) ??
      startWalk(snapshot.path, { exclude: snapshot.exclude, exclusion: snapshot.exclusion, oneFileSystem: options.oneFileSystem, details });
    const walk = started.entries({
      onError: (relative, error) => log.warn(`${displayPath(relative)}: not backed up: ${error.message}`),
      onMountPointSkipped: (relative, pseudo) => mountPoints.push(pseudo ? `${displayPath(relative)} (${pseudo})` : displayPath(relative)),
    });
    // The parent's entry stands: nothing read, described, written nor added to the changes.
    const standing = () => void entries++;
    const described = async function* () {
      for await (const merged of mergeWithParent(walk, parentIndex, unchangedOnLine, standing)) {
        if (merged.gone !== undefined) {
          yield merged;
          continue;
        }
        if (unchanged(merged.walked, merged.previous)) {
          standing();
          continue;
        }
        const prepared = prepare(merged.walked, merged.previous);
        prepared.catch(() => {});
        yield { ...merged, prepared };
      }
    };
    // Described, and a small file's content read, ahead of its turn.
    const prepare = async (walked: WalkedEntry, previous: IndexEntry | undefined) => {
      const entry = await describe(walked, backupId, previous, unreadXattrs);
      const { stats } = walked;
      // Not a hard link (its leader is known in order), not unchanged, not sparse (read by segments).
      if (entry.type !== 'file' || entry.size > SMALL_FILE || stats.nlink > 1n || mayBeSparse(stats)) return { entry };
      if (previous && sameEntry(previous, entry)) return { entry };
      const { content, unreadable } = walked.details ?? {};
      if (content || unreadable) return { entry, content, unreadable };
      try {
        return { entry, content: await readSmallFile(walked.absolute, entry.size) };
      } catch (error) {
        return { entry, unreadable: error as Error };
      }
    };
    const gone = (path: string) => records.add({ path, deleted: true });
    for await (const item of readAhead(described(), DESCRIBED_AHEAD)) {
      if (item.gone !== undefined) {
        await gone(item.gone);
        continue;
      }
      const { walked, previous } = item;
      let entry: IndexEntry;
      let content: { data: Buffer; shrank: boolean } | undefined;
      let unreadable: Error | undefined;
      try {
        ({ entry, content, unreadable } = await item.prepared);
      } catch (error) {
        log.warn(`${displayPath(walked.path)}: not backed up: ${(error as Error).message}`);
        if (previous) await gone(walked.path);
        continue;
      }
      if (entry.type === 'socket') {
        if (previous) await gone(walked.path);
        continue;
      }
      const identity = `${walked.stats.dev}:${walked.stats.ino}`;
      if (entry.type === 'file' && walked.stats.nlink > 1n) {
        const leader = leaders.get(identity);
        if (leader === undefined) leaders.set(identity, entry.path);
        else Object.assign(entry, { type: 'hardlink', linkTo: leader, size: 0 });
      }
      if (previous && sameEntry(previous, entry)) {
        // Unchanged: the parent's entry stands, not read, not in the stream, not among the changes.
        entries++;
        continue;
      }
      let handle: FileHandle | undefined;
      if (entry.type === 'file' && !content) {
        try {
          if (unreadable) throw unreadable;
          handle = await open(walked.absolute, 'r');
        } catch (error) {
          // Unreadable, or gone since it was listed: left out like what the walk cannot read. A hard link to it becomes the next one's leader.
          if (leaders.get(identity) === entry.path) leaders.delete(identity);
          log.warn(`${displayPath(entry.path)}: not backed up: ${(error as Error).message}`);
          if (previous) await gone(walked.path);
          continue;
        }
      }
      const start = pushed;
      // Between entries (the previous one is complete), so a pax header pushed here lands right before its entry.
      const writeable = (header: tar.Header): tar.Header => {
        if (!hasBinaryName(header)) return header;
        const { pax, entry: plain } = binaryNameHeaders(header);
        pack.push(pax);
        return plain;
      };
      if (content) {
        const header = writeable(tarHeader(entry));
        await new Promise<void>((resolve, reject) => pack.entry(header, content.data, (error) => (error ? reject(error) : resolve())));
        if (content.shrank) log.warn(shrankWarning(entry.path));
        entry.ranges = [{ from: backupId, start, end: pushed, path: entry.path }];
      } else if (handle) {
        try {
          const { header, content } = fileEntry(handle, tarHeader(entry), entry, walked.stats, log);
          await pipeline(Readable.from(content), pack.entry(writeable(header)));
        } finally {
          await handle.close();
        }
        // Partial restore reads just this span (headers, data, padding) of the stream.
        entry.ranges = [{ from: backupId, start, end: pushed, path: entry.path }];
      } else {
        const header = writeable(tarHeader(entry));
        await new Promise<void>((resolve, reject) => pack.entry(header, (error) => (error ? reject(error) : resolve())));
      }
      entries++;
      await records.add(entry);
    }
    if (mountPoints.length > 0) {
      const cross = options.oneFileSystem ? '; [directory] one_file_system = false crosses into other filesystems' : '';
      log.warn(
        `${mountPoints.length} mount points stored as empty directories, their contents not backed up (other or pseudo filesystems${cross}): ${mountPoints.join(', ')}`,
      );
    }
    pack.finalize();
    finished = true;
  };

  return {
    stream: (async function* () {
      const producing = produce().catch((error) => pack.destroy(error));
      try {
        yield* pack as AsyncIterable<Buffer>;
        await producing;
      } finally {
        if (!finished) await records.close();
      }
    })(),
    index(): IndexOutput {
      if (!finished) throw new Error('the file index is known only once the stream has ended');
      return parentIndex ? { backupId, changes: records, entries } : { backupId, spool: records };
    },
  };
}
