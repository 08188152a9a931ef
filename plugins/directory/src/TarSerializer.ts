import { createReadStream } from 'node:fs';
import { readlink } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { listAttributes, getAttribute } from '@napi-rs/xattr';
import { displayPath, indexPath, type FileIndex, type IndexEntry, type Logger, type SerializeContext, type Serialization } from '@rast-backup/core';
import tar from 'tar-stream';
import { binaryNameHeaders, hasBinaryName } from './BinaryPaxNames.js';
import { deviceNumbers, entryType, paxTime, sameEntry } from './EntryDescription.js';
import { NoTextPath, withTextPath } from './TextPath.js';
import { walkTree, type WalkedEntry } from './TreeWalker.js';

/** The entry's xattrs; `unread` collects the paths whose xattrs the xattr library cannot reach (see NoTextPath). */
async function readXattrs(walked: WalkedEntry, unread: string[]): Promise<Record<string, string> | undefined> {
  try {
    return await withTextPath(walked.absolute, (absolute) => readXattrsAt(absolute));
  } catch (error) {
    if (error instanceof NoTextPath) unread.push(walked.path);
    return undefined;
  }
}

async function readXattrsAt(absolute: string): Promise<Record<string, string> | undefined> {
  let names: string[];
  try {
    names = await listAttributes(absolute);
  } catch {
    return undefined;
  }
  if (names.length === 0) return undefined;
  const xattrs: Record<string, string> = {};
  for (const name of names.sort()) {
    const value = await getAttribute(absolute, name).catch(() => null);
    if (value) xattrs[name] = value.toString('base64');
  }
  return xattrs;
}

async function describe(walked: WalkedEntry, backupId: string, unread: string[]): Promise<IndexEntry> {
  const { stats } = walked;
  const type = entryType(stats);
  const entry: IndexEntry = {
    path: walked.path,
    type,
    size: type === 'file' ? Number(stats.size) : 0,
    mode: Number(stats.mode & 0o7777n),
    uid: Number(stats.uid),
    gid: Number(stats.gid),
    mtime: String(stats.mtimeNs),
    ctime: String(stats.ctimeNs),
    // The inode number alone: a btrfs snapshot of the same tree has another st_dev but the same inodes.
    inode: String(stats.ino),
    from: backupId,
  };
  if (type === 'symlink') entry.target = indexPath(await readlink(walked.absolute, { encoding: 'buffer' }));
  if (type === 'char-device' || type === 'block-device') Object.assign(entry, deviceNumbers(stats.rdev));
  const xattrs = await readXattrs(walked, unread);
  if (xattrs) entry.xattrs = xattrs;
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

/** Exactly `size` bytes of a file that may change while it is read: cut if it grew, zero-padded if it shrank. */
async function* fileContent(absolute: Buffer, size: number, log: Logger, relative: string): AsyncGenerator<Buffer> {
  let sent = 0;
  if (size > 0) {
    for await (const chunk of createReadStream(absolute, { start: 0, end: size - 1, highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
      sent += chunk.length;
      yield chunk;
    }
  }
  if (sent < size) {
    log.warn(`${displayPath(relative)} shrank while it was read; the rest of it is stored as zeros (back up a snapshot for a consistent copy)`);
    const zeros = Buffer.alloc(Math.min(size - sent, 1024 * 1024));
    while (sent < size) {
      const take = Math.min(zeros.length, size - sent);
      sent += take;
      yield zeros.subarray(0, take);
    }
  }
}

/**
 * Writes the tree as a POSIX pax tar stream (readable by `tar` alone) and builds the file index as it goes.
 * With a parent index, only entries that changed since the parent are written; the index still lists every
 * entry, each with the backup that holds it.
 */
export function serializeTree(context: SerializeContext, options: { oneFileSystem: boolean }): Serialization {
  const { snapshot, backupId, parentIndex, log } = context;
  const previousByPath = new Map((parentIndex?.entries ?? []).map((entry) => [entry.path, entry]));
  const entries: IndexEntry[] = [];
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
    const unreadXattrs: string[] = [];
    const mountPoints: string[] = [];
    const walk = walkTree(snapshot.path, {
      exclude: snapshot.exclude,
      oneFileSystem: options.oneFileSystem,
      onError: (relative, error) => log.warn(`${displayPath(relative)}: not backed up: ${error.message}`),
      onMountPointSkipped: (relative, pseudo) => mountPoints.push(pseudo ? `${displayPath(relative)} (${pseudo})` : displayPath(relative)),
    });
    for await (const walked of walk) {
      let entry: IndexEntry;
      try {
        entry = await describe(walked, backupId, unreadXattrs);
      } catch (error) {
        log.warn(`${displayPath(walked.path)}: not backed up: ${(error as Error).message}`);
        continue;
      }
      if (entry.type === 'socket') continue;
      if (entry.type === 'file' && walked.stats.nlink > 1n) {
        const identity = `${walked.stats.dev}:${walked.stats.ino}`;
        const leader = leaders.get(identity);
        if (leader === undefined) leaders.set(identity, entry.path);
        else Object.assign(entry, { type: 'hardlink', linkTo: leader, size: 0 });
      }
      const previous = previousByPath.get(entry.path);
      if (previous && sameEntry(previous, entry)) {
        entries.push({ ...entry, from: previous.from, ...(previous.ranges && { ranges: previous.ranges }) });
        continue;
      }
      entries.push(entry);
      const start = pushed;
      let header = tarHeader(entry);
      if (hasBinaryName(header)) {
        const { pax, entry: plain } = binaryNameHeaders(header);
        // Between entries (the previous one is complete), so the pax header lands right before its entry.
        pack.push(pax);
        header = plain;
      }
      if (entry.type === 'file') {
        await pipeline(Readable.from(fileContent(walked.absolute, entry.size, log, entry.path)), pack.entry(header));
        // Partial restore reads just this span (headers, data, padding) of the stream.
        entry.ranges = [{ from: backupId, start, end: pushed, path: entry.path }];
      } else {
        await new Promise<void>((resolve, reject) => pack.entry(header, (error) => (error ? reject(error) : resolve())));
      }
    }
    if (unreadXattrs.length > 0) {
      const some = unreadXattrs.slice(0, 3).map(displayPath).join(', ');
      log.warn(`extended attributes not backed up of ${unreadXattrs.length} entries whose names are not UTF-8 (${some}${unreadXattrs.length > 3 ? ', …' : ''}): the xattr library takes only UTF-8 paths`);
    }
    if (mountPoints.length > 0) {
      const cross = options.oneFileSystem ? '; [directory] one_file_system = false crosses into other filesystems' : '';
      log.warn(`${mountPoints.length} mount points stored as empty directories, their contents not backed up (other or pseudo filesystems${cross}): ${mountPoints.join(', ')}`);
    }
    pack.finalize();
    finished = true;
  };

  return {
    stream: (async function* () {
      const producing = produce().catch((error) => pack.destroy(error));
      yield* pack as AsyncIterable<Buffer>;
      await producing;
    })(),
    index(): FileIndex {
      if (!finished) throw new Error('the file index is known only once the stream has ended');
      return { format: 'rast-backup/index', version: 1, backupId, entries };
    },
  };
}
