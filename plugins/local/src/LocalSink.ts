import { randomBytes } from 'node:crypto';
import { constants, statSync } from 'node:fs';
import { chmod, chown, open, type FileHandle, readdir, readFile, rename, rmdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import {
  makeDirectories,
  partMissing,
  processAlive,
  reasonOf,
  sinkFailed,
  type PutOptions,
  type RastError,
  type Sink,
  type SinkObject,
} from '@rast-backup/core';

export interface LocalSinkOptions {
  name: string;
  root: string;
  /** Group that may read the repository (`rast-backup` when that group exists). */
  gid?: number;
}

const TEMPORARY_MARK = '.tmp-';
const PRIVATE_DIRECTORY = 0o700;
const PRIVATE_FILE = 0o600;
/** Bytes read at once by read(): what a streamed copy holds of an object, per read in flight. */
const READ_CHUNK = 1 << 20;
/** readInto's read size: readFile's, which lets the kernel's readahead run ahead of the reads. */
const INTO_CHUNK = 512 * 1024;
/** Files `list` stats between two turns of the event loop: a synchronous stat costs a tenth of a queued one (10,000 manifests: 40 ms, not 400). */
const LIST_STATS_PER_TURN = 1024;

/** Whether a file is a temporary whose writer is still running (`<name>.tmp-<pid>-<hex>`, pid alive). */
function beingWritten(name: string): boolean {
  const writer = /\.tmp-(\d+)-[0-9a-f]+$/.exec(name)?.[1];
  if (writer === undefined) return name.includes(TEMPORARY_MARK);
  return processAlive(Number(writer));
}

/** What O_DIRECT needs of a buffer's address, a length and a file offset (the largest logical block in use). */
const DIRECT_ALIGNMENT = 4096;
const FILESYSTEM_REFUSES = -1;

/**
 * Writes the largest prefix of `data` that is a whole number of 4096-byte blocks to a new `file` with
 * O_DIRECT, past the page cache: copying a backup into the cache costs a CPU second or more per GiB here,
 * and would evict what the machine is using. Returns how many bytes it wrote; 0, leaving no file, when the
 * buffer's address does not allow it (EINVAL), and `FILESYSTEM_REFUSES` when the filesystem (e.g. tmpfs)
 * refuses O_DIRECT at open. The part encoder's slots are page-aligned for this; the rest (the tail, other
 * buffers) is written through the cache.
 */
/**
 * Whether `data` may start on a page: only the part encoder's slots (shared memory, page-aligned) can; any other
 * buffer would cost an open and an unlink for writeDirect to find out.
 */
function mayBeAligned(data: Buffer): boolean {
  return data.buffer instanceof SharedArrayBuffer && data.byteOffset % DIRECT_ALIGNMENT === 0;
}

async function writeDirect(file: string, data: Buffer, mode: number): Promise<number> {
  const bulk = data.length - (data.length % DIRECT_ALIGNMENT);
  if (bulk === 0) return 0;
  let handle: FileHandle | undefined;
  let opened = false;
  try {
    handle = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_DIRECT, mode);
    opened = true;
    for (let offset = 0; offset < bulk;) offset += (await handle.write(data, offset, bulk - offset, offset)).bytesWritten;
    return bulk;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EINVAL') throw error;
    // Linux creates the file before it refuses O_DIRECT at open.
    await handle?.close();
    handle = undefined;
    await unlink(file).catch(() => {});
    return opened ? 0 : FILESYSTEM_REFUSES;
  } finally {
    await handle?.close();
  }
}

async function syncPath(file: string): Promise<void> {
  const handle = await open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * A repository in a local directory. Objects are files; a write goes to a temporary file that is
 * fsynced, then renamed into place, so a reader sees a whole object or none.
 */
export class LocalSink implements Sink {
  readonly name: string;
  readonly location: string;
  readonly localPath: string;
  private readonly gid?: number;
  private readonly directoryMode: number;
  private readonly fileMode: number;
  /** Cleared once the filesystem refuses O_DIRECT, so that parts are not tried with it again. */
  private directIo = true;
  /** fsyncs started in the background for objects written since the last flush(), so writeback overlaps the rest of the backup. */
  private syncing: Array<Promise<unknown>> = [];
  /** Directories that received objects since the last flush(). */
  private readonly unsyncedDirectories = new Set<string>();

  constructor(options: LocalSinkOptions) {
    this.name = options.name;
    this.location = options.root;
    this.localPath = options.root;
    this.gid = options.gid;
    this.directoryMode = options.gid === undefined ? PRIVATE_DIRECTORY : 0o750;
    this.fileMode = options.gid === undefined ? PRIVATE_FILE : 0o640;
  }

  private file(key: string): string {
    const parts = key.split('/');
    if (parts.some((part) => part === '' || part === '.' || part === '..')) throw new Error(`invalid object key ${key}`);
    return path.join(this.localPath, ...parts);
  }

  /**
   * Creates `directory` and its missing parents. With a group they are given it and mode 0750 whatever the
   * umask; where that group cannot be given (not root, not a member) they stay 0700.
   */
  private async makeDirectory(directory: string): Promise<void> {
    const created = await makeDirectories(directory, this.directoryMode);
    if (created && this.gid !== undefined) {
      for (let current = directory; current.length >= created.length; current = path.dirname(current)) {
        const grouped = await chown(current, -1, this.gid).then(
          () => true,
          () => false,
        );
        await chmod(current, grouped ? this.directoryMode : PRIVATE_DIRECTORY);
      }
    }
  }

  private failure(action: string, key: string, error: unknown): RastError {
    const code = (error as NodeJS.ErrnoException).code;
    const hint = code === 'ENOSPC' ? ' (no space left on the device)' : code === 'EACCES' ? ' (permission denied)' : '';
    return sinkFailed(this, `${action} ${key}`, error, { reason: `${reasonOf(error)}${hint}`, facts: { key }, kind: 'local' });
  }

  /**
   * Writes to a temporary file (a part's bulk with O_DIRECT where it can: see writeDirect), then renames it
   * into place. A durable put (a manifest) is fsynced before the rename, and its directory after it; any other
   * object's fsync starts at once in the background and flush() waits for it, before the manifest is written.
   */
  async put(key: string, data: Buffer, options?: PutOptions): Promise<void> {
    const target = this.file(key);
    const temporary = `${target}${TEMPORARY_MARK}${process.pid}-${randomBytes(4).toString('hex')}`;
    const durable = options?.durable === true;
    try {
      await this.makeDirectory(path.dirname(target));
      let direct = durable || !this.directIo || !mayBeAligned(data) ? 0 : await writeDirect(temporary, data, this.fileMode);
      if (direct === FILESYSTEM_REFUSES) {
        this.directIo = false;
        direct = 0;
      }
      const handle = await open(temporary, direct > 0 ? 'r+' : 'wx', this.fileMode);
      try {
        for (let offset = direct; offset < data.length;)
          offset += (await handle.write(data, offset, data.length - offset, offset)).bytesWritten;
        await this.settle(handle, durable);
      } finally {
        await handle.close();
      }
      await this.publish(temporary, target, durable);
    } catch (error) {
      await unlink(temporary).catch(() => {});
      throw this.failure('write', key, error);
    }
  }

  /** A written temporary's group and mode, fsynced when durable. */
  private async settle(handle: FileHandle, durable: boolean): Promise<void> {
    if (this.gid !== undefined) {
      const grouped = await handle.chown(-1, this.gid).then(
        () => true,
        () => false,
      );
      await handle.chmod(grouped ? this.fileMode : PRIVATE_FILE);
    }
    if (durable) await handle.sync();
  }

  /** Renames a written temporary into place: its directory fsynced at once when durable, else at flush. */
  private async publish(temporary: string, target: string, durable: boolean): Promise<void> {
    await rename(temporary, target);
    if (durable) await syncPath(path.dirname(target));
    else {
      const started = syncPath(target);
      started.catch(() => {});
      this.syncing.push(started);
      this.unsyncedDirectories.add(path.dirname(target));
    }
  }

  /**
   * Writes `chunks` to a temporary file, then renames it into place as put does (durable: fsynced first). An
   * error thrown by `chunks` removes the temporary and is rethrown as it is.
   */
  async write(key: string, chunks: AsyncIterable<Buffer>, _size: number, options?: PutOptions): Promise<void> {
    const target = this.file(key);
    const temporary = `${target}${TEMPORARY_MARK}${process.pid}-${randomBytes(4).toString('hex')}`;
    const durable = options?.durable === true;
    const fromChunks = new Set<unknown>();
    try {
      await this.makeDirectory(path.dirname(target));
      const handle = await open(temporary, 'wx', this.fileMode);
      try {
        const iterator = chunks[Symbol.asyncIterator]();
        for (;;) {
          let next: IteratorResult<Buffer>;
          try {
            next = await iterator.next();
          } catch (error) {
            fromChunks.add(error);
            throw error;
          }
          if (next.done) break;
          for (let offset = 0; offset < next.value.length;) offset += (await handle.write(next.value, offset)).bytesWritten;
        }
        await this.settle(handle, durable);
      } finally {
        await handle.close();
      }
      await this.publish(temporary, target, durable);
    } catch (error) {
      await unlink(temporary).catch(() => {});
      if (fromChunks.has(error)) throw error;
      throw this.failure('write', key, error);
    }
  }

  async flush(): Promise<void> {
    const started = this.syncing;
    const directories = [...this.unsyncedDirectories];
    this.syncing = [];
    this.unsyncedDirectories.clear();
    try {
      await Promise.all(started);
      await Promise.all(directories.map(syncPath));
    } catch (error) {
      throw this.failure('fsync', this.location, error);
    }
  }

  async get(key: string): Promise<Buffer> {
    try {
      return await readFile(this.file(key));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw partMissing(key, this);
      }
      throw this.failure('read', key, error);
    }
  }

  /** The object's file opened for reading; PART_MISSING when it is not there. */
  private async openObject(key: string): Promise<FileHandle> {
    try {
      return await open(this.file(key), 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw partMissing(key, this);
      throw this.failure('read', key, error);
    }
  }

  /** The object read in chunks of INTO_CHUNK bytes into the start of `into`. */
  async readInto(key: string, into: Buffer): Promise<number> {
    const handle = await this.openObject(key);
    try {
      const { size } = await handle.stat();
      if (size > into.length) return size;
      let length = 0;
      for (;;) {
        // In chunks, as readFile reads: one read of a whole cold object waits on each readahead batch in turn.
        const { bytesRead } = await handle.read(into, length, Math.min(INTO_CHUNK, size - length), length);
        if (bytesRead === 0 || (length += bytesRead) === size) return length;
      }
    } catch (error) {
      throw this.failure('read', key, error);
    } finally {
      await handle.close();
    }
  }

  /** The object in chunks of at most READ_CHUNK bytes. */
  async *read(key: string): AsyncIterable<Buffer> {
    const handle = await this.openObject(key);
    try {
      for (;;) {
        const buffer = Buffer.allocUnsafe(READ_CHUNK);
        let bytesRead: number;
        try {
          ({ bytesRead } = await handle.read(buffer, 0, READ_CHUNK));
        } catch (error) {
          throw this.failure('read', key, error);
        }
        if (bytesRead === 0) return;
        yield buffer.subarray(0, bytesRead);
      }
    } finally {
      await handle.close();
    }
  }

  /**
   * Objects under `prefix`. A temporary file is left out while its writer runs; once that process is gone
   * (killed mid-write) it is listed under its own name, so that the data it belongs to shows as a leftover
   * and is removed with it.
   */
  async *list(prefix: string): AsyncIterable<SinkObject> {
    const base = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    const keys: string[] = [];
    const walk = async (relative: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(path.join(this.localPath, relative), { withFileTypes: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw this.failure('list', prefix, error);
      }
      for (const entry of entries) {
        const key = relative ? `${relative}/${entry.name}` : entry.name;
        if (entry.isDirectory()) {
          if (`${key}/`.startsWith(prefix) || prefix.startsWith(`${key}/`)) await walk(key);
        } else if (entry.isFile() && key.startsWith(prefix) && !beingWritten(entry.name)) {
          keys.push(key);
        }
      }
    };
    await walk(base);
    const objects: SinkObject[] = [];
    for (const [at, key] of keys.entries()) {
      if (at > 0 && at % LIST_STATS_PER_TURN === 0) await new Promise(setImmediate);
      let stats;
      try {
        stats = statSync(path.join(this.localPath, key), { throwIfNoEntry: false });
      } catch (error) {
        throw this.failure('list', prefix, error);
      }
      // Removed since the directory was read (a delete or prune beside this one): not there.
      if (stats) objects.push({ key, size: stats.size });
    }
    objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    yield* objects;
  }

  async delete(key: string): Promise<void> {
    const target = this.file(key);
    try {
      await unlink(target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw this.failure('delete', key, error);
    }
    await rmdir(path.dirname(target)).catch(() => {});
  }
}
