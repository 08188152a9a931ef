import { spawnSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, stat } from 'node:fs/promises';
import path from 'node:path';
import { IndexView, type FileIndex, type Manifest, type StreamSpans } from '@rast-backup/core';
import { isRoot, silentLogger, temporaryDirectory } from '@rast-backup/core/testing';
import { SendStreamDecoder } from '../SendStreamDecoder.js';
import { SendStreamIndexer } from '../SendStreamIndexer.js';
import { loadedIndex } from './LoadedIndex.js';
import { SendStreamReceiver } from '../SendStreamReceiver.js';
import { restoreSpans } from '../SpanRestorer.js';

export const hasBtrfs = spawnSync('mkfs.btrfs', ['--version']).status === 0 && spawnSync('btrfs', ['--version']).status === 0;
export const labAvailable = isRoot && hasBtrfs;
export const labNeeds = 'root and btrfs-progs (loop-mounted btrfs, tmpfs)';

export function sh(command: string, args: string[], options: { input?: Buffer } = {}): string {
  const result = spawnSync(command, args, { encoding: 'utf8', input: options.input, maxBuffer: 1 << 26 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

/**
 * A loop-mounted btrfs with a subvolume `data` to change, read-only snapshots of it, their send streams
 * (files), and destinations to receive them into: `btrfs receive` on the same btrfs, or the user-space
 * receiver on a tmpfs or a loop-mounted ext4.
 */
export class BtrfsLab {
  private snapshots = 0;
  private constructor(
    readonly home: string,
    readonly mountPoint: string,
    private readonly image: string,
  ) {}

  /** Unmounts and mounts the filesystem again (btrfs then reuses the highest inode numbers that were freed). */
  remount(): void {
    sh('umount', [this.mountPoint]);
    sh('mount', ['-o', 'loop', this.image, this.mountPoint]);
  }

  get source(): string {
    return path.join(this.mountPoint, 'data');
  }

  static async create(sizeMiB = 400): Promise<BtrfsLab> {
    const home = await temporaryDirectory('rast-lab-');
    const image = path.join(home, 'btrfs.img');
    const mountPoint = path.join(home, 'btrfs');
    await mkdir(mountPoint);
    sh('truncate', ['-s', `${sizeMiB}M`, image]);
    sh('mkfs.btrfs', ['-q', '-f', image]);
    sh('mount', ['-o', 'loop', image, mountPoint]);
    sh('btrfs', ['subvolume', 'create', path.join(mountPoint, 'data')]);
    await mkdir(path.join(mountPoint, 'snapshots'));
    await mkdir(path.join(mountPoint, 'received'));
    await mkdir(path.join(home, 'streams'));
    return new BtrfsLab(home, mountPoint, image);
  }

  /** A read-only snapshot of `data` now. */
  snapshot(): string {
    const snapshot = path.join(this.mountPoint, 'snapshots', `s${this.snapshots++}`);
    sh('btrfs', ['subvolume', 'snapshot', '-r', this.source, snapshot]);
    return snapshot;
  }

  /** `btrfs send [-p parent] [flags] snapshot` into a file. */
  send(snapshot: string, parent?: string, flags: string[] = []): string {
    const file = path.join(
      this.home,
      'streams',
      `${path.basename(snapshot)}${parent ? `-from-${path.basename(parent)}` : ''}${flags.join('')}.stream`,
    );
    sh('btrfs', ['send', '-q', ...flags, ...(parent ? ['-p', parent] : []), '-f', file, snapshot]);
    return file;
  }

  /** `btrfs receive` of a chain into a fresh directory on the lab's btrfs; returns the last received subvolume. */
  btrfsReceive(streams: string[], snapshotName: string): string {
    const into = path.join(this.mountPoint, 'received', `r${Math.random().toString(36).slice(2, 8)}`);
    sh('mkdir', [into]);
    for (const stream of streams) sh('btrfs', ['receive', '-q', '-f', stream, into]);
    return path.join(into, snapshotName);
  }

  /** A fresh tmpfs (or loop ext4) to restore into. */
  async destination(kind: 'tmpfs' | 'ext4' = 'tmpfs', sizeMiB = 512): Promise<string> {
    const directory = await mkdtemp(path.join(this.home, `${kind}-`));
    if (kind === 'tmpfs') sh('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m,mode=700`, 'tmpfs', directory]);
    else {
      const image = `${directory}.img`;
      sh('truncate', ['-s', `${sizeMiB}M`, image]);
      sh('mkfs.ext4', ['-q', '-F', image]);
      sh('mount', ['-o', 'loop', image, directory]);
      sh('rmdir', [path.join(directory, 'lost+found')]);
    }
    return directory;
  }

  /**
   * Partial restore (the span restorer) of `include` from the chain's stream files into `destination`: the
   * chain's index is built by the indexer as create builds it, and spans are read from the stream files.
   */
  static async restoreSpans(streams: string[], destination: string, include: string[]) {
    const chain: Manifest[] = [];
    let index: FileIndex | undefined;
    for (const [position, stream] of streams.entries()) {
      const id = `s${position}`;
      const parent = index && IndexView.of(index);
      const indexer = new SendStreamIndexer(id, parent);
      let version = 0;
      const decoder = new SendStreamDecoder(id, (command) => {
        version = command.version;
        indexer.apply(command);
      });
      for await (const chunk of createReadStream(stream)) decoder.push(chunk as Buffer);
      decoder.finish();
      index = await loadedIndex(await indexer.index(), parent);
      const size = (await stat(stream)).size;
      chain.push({
        id,
        parent: position > 0 ? `s${position - 1}` : null,
        size,
        source: { btrfs: { sendProtocol: version } },
      } as unknown as Manifest);
    }
    const files = new Map(chain.map((manifest, position) => [manifest.id, streams[position]!]));
    const readers = new Map<string, StreamSpans>();
    const rangeReader = (manifest: Manifest): StreamSpans => {
      let reader = readers.get(manifest.id);
      if (!reader) {
        const spans = {
          fetchedBytes: 0,
          async *read(start: number, end: number) {
            if (end <= start) return;
            spans.fetchedBytes += end - start;
            yield* createReadStream(files.get(manifest.id)!, { start, end: end - 1 }) as AsyncIterable<Buffer>;
          },
        };
        readers.set(manifest.id, (reader = spans));
      }
      return reader;
    };
    return restoreSpans({
      chain,
      target: chain.at(-1)!,
      index: IndexView.of(index!),
      destination,
      include,
      log: silentLogger(),
      rangeReader,
      openStream: () => {
        throw new Error('a partial restore reads spans, never a whole stream');
      },
    });
  }

  /** The user-space receiver applies the chain's stream files, in order, into `destination`. */
  static async receive(streams: string[], destination: string, options: { isRoot?: boolean; onBtrfs?: boolean } = {}) {
    const receiver = new SendStreamReceiver(destination, { isRoot: options.isRoot ?? isRoot, onBtrfs: options.onBtrfs ?? false });
    for (const stream of streams) await receiver.receive(`stream ${path.basename(stream)}`, createReadStream(stream));
    return receiver.finish();
  }
}
