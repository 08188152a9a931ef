import { randomBytes } from 'node:crypto';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { ErrorCode, RastError, type Manifest, type RestoreContext, type RestoreReport, type StreamRange } from '@rast-backup/core';
import { restoreIndexedTree, type FileToFill, type SafeTree } from '@rast-backup/plugin-directory';
import { btrfsFacts } from './BtrfsSource.js';
import { Attribute, Command, SendStreamDecoder, u32, u64, type SendCommand } from './SendStreamDecoder.js';

const COPY_CHUNK = 1 << 20;
const ZEROES = Buffer.alloc(COPY_CHUNK);
/** The commands that change a file's data; a span's other commands (times, owners, other files) are left to the index. */
const DATA_COMMANDS = new Set<number>([Command.WRITE, Command.CLONE, Command.ENCODED_WRITE, Command.FALLOCATE, Command.TRUNCATE, Command.UPDATE_EXTENT]);
const FALLOC_FL_KEEP_SIZE = 1;
const FALLOC_FL_PUNCH_HOLE = 2;

/** Why a file cannot be rebuilt from its spans alone, or undefined when it can. */
function spanProblem(entryPath: string, size: number, ranges: StreamRange[] | undefined): string | undefined {
  if (!ranges) return size > 0 ? `${entryPath} has no stream ranges in the index` : undefined;
  for (const range of ranges) {
    if (range.clone) return `${entryPath} shares data (a clone) with a file outside the backup chain`;
    for (const clone of range.clones ?? []) {
      const problem = spanProblem(`the clone source of ${entryPath}`, 1, clone.source);
      if (problem) return problem;
    }
  }
  return undefined;
}

/**
 * Restores what --include selects from a btrfs-send backup chain without replaying the chain: the tree
 * comes from the target's index, and each selected file's data from the spans of the streams the index
 * names, so only the parts holding those spans are fetched. A clone copies from its source file, rebuilt
 * the same way (from the spans the index recorded for it at that moment) in a scratch file inside the
 * destination. Works on any filesystem.
 */
export function restoreSpans(context: RestoreContext): Promise<RestoreReport> {
  return restoreIndexedTree(context, async (files, tree) => {
    const problems = files.map(({ entry }) => spanProblem(entry.path, entry.size, entry.ranges)).filter((problem): problem is string => problem !== undefined);
    if (problems.length > 0) {
      throw new RastError(ErrorCode.USAGE, `backup ${context.target.id}: --include cannot be served from the index's spans: ${problems.slice(0, 3).join('; ')}; restore the backup whole`, { backup: context.target.id });
    }
    const position = (file: FileToFill): [number, number] => {
      const first = file.entry.ranges?.[0];
      return first ? [context.chain.findIndex((manifest) => manifest.id === first.from), first.start] : [-1, 0];
    };
    files.sort((a, b) => position(a)[0] - position(b)[0] || position(a)[1] - position(b)[1]);
    const spans = new SpanReplayer(context, tree);
    try {
      let bytes = 0;
      for (const file of files) {
        const handle = await tree.createFile(file.target);
        try {
          bytes += await spans.replay(file.entry.ranges ?? [], handle);
          await handle.truncate(file.entry.size);
        } finally {
          await handle.close();
        }
      }
      return bytes;
    } finally {
      await spans.close();
    }
  });
}

/** Replays spans onto open files; clone sources are rebuilt once each, in scratch files removed at the end. */
class SpanReplayer {
  private readonly manifests: Map<string, Manifest>;
  private readonly versions = new Map<string, number>();
  private readonly scratch = new Map<string, { path: string; handle: FileHandle }>();

  constructor(
    private readonly context: RestoreContext,
    private readonly tree: SafeTree,
  ) {
    this.manifests = new Map(context.chain.map((manifest) => [manifest.id, manifest]));
  }

  async replay(ranges: StreamRange[], handle: FileHandle): Promise<number> {
    let bytes = 0;
    for (const range of ranges) {
      const manifest = this.manifests.get(range.from);
      if (!manifest) throw new RastError(ErrorCode.STREAM_DAMAGED, `backup ${this.context.target.id}: its index places file data in backup ${range.from}, which is not in its chain`, { backup: this.context.target.id });
      bytes += await this.replaySpan(manifest, range, handle);
    }
    return bytes;
  }

  private async version(manifest: Manifest): Promise<number> {
    let version = this.versions.get(manifest.id) ?? btrfsFacts(manifest)?.sendProtocol;
    if (version === undefined) {
      const header: Buffer[] = [];
      for await (const chunk of this.context.rangeReader(manifest).read(0, 17)) header.push(chunk);
      version = Buffer.concat(header).readUInt32LE(13);
    }
    this.versions.set(manifest.id, version);
    return version;
  }

  /** Applies the data commands of one span that name the file (by its path in that stream). */
  private async replaySpan(manifest: Manifest, range: StreamRange, handle: FileHandle): Promise<number> {
    const pending: SendCommand[] = [];
    const decoder = new SendStreamDecoder(`backup ${manifest.id}`, (command) => {
      if (!DATA_COMMANDS.has(command.type) || command.attributes.get(Attribute.PATH)?.toString('utf8') !== range.path) return;
      // Attribute values are views valid only during the callback: keep a copy of the ones applied later.
      pending.push({ ...command, attributes: new Map([...command.attributes].map(([type, value]) => [type, Buffer.from(value)])) });
    }, { version: await this.version(manifest), offset: range.start });
    let bytes = 0;
    for await (const chunk of this.context.rangeReader(manifest).read(range.start, range.end)) {
      decoder.push(chunk);
      for (const command of pending.splice(0)) bytes += await this.apply(manifest, range, command, handle);
    }
    decoder.finish();
    return bytes;
  }

  private async apply(manifest: Manifest, range: StreamRange, command: SendCommand, handle: FileHandle): Promise<number> {
    const attributes = command.attributes;
    const offset = u64(attributes.get(Attribute.FILE_OFFSET));
    switch (command.type) {
      case Command.WRITE: {
        const data = attributes.get(Attribute.DATA) ?? Buffer.alloc(0);
        await handle.write(data, 0, data.length, offset);
        return data.length;
      }
      case Command.TRUNCATE:
        await handle.truncate(u64(attributes.get(Attribute.SIZE)));
        return 0;
      case Command.FALLOCATE: {
        const mode = u32(attributes.get(Attribute.FALLOCATE_MODE));
        const end = offset + u64(attributes.get(Attribute.SIZE));
        const length = (await handle.stat()).size;
        // A hole punched inside what the file holds so far reads as zeroes.
        if (mode & FALLOC_FL_PUNCH_HOLE) await copyZeroes(handle, offset, Math.min(end, length));
        else if (!(mode & FALLOC_FL_KEEP_SIZE) && end > length) await handle.truncate(end);
        return 0;
      }
      case Command.CLONE: {
        const clone = range.clones?.find((candidate) => candidate.at === command.offset);
        if (!clone) throw new RastError(ErrorCode.STREAM_DAMAGED, `backup ${manifest.id}: the clone at byte ${command.offset} has no source in the index`, { backup: manifest.id });
        const source = await this.source(clone.source);
        const length = u64(attributes.get(Attribute.CLONE_LEN));
        const from = u64(attributes.get(Attribute.CLONE_OFFSET));
        const buffer = Buffer.allocUnsafe(Math.min(COPY_CHUNK, length));
        for (let done = 0; done < length; ) {
          const { bytesRead } = await source.read(buffer, 0, Math.min(buffer.length, length - done), from + done);
          // Past the source's end a clone reads zeroes.
          const chunk = bytesRead > 0 ? buffer.subarray(0, bytesRead) : ZEROES.subarray(0, Math.min(ZEROES.length, length - done));
          await handle.write(chunk, 0, chunk.length, offset + done);
          done += chunk.length;
        }
        return length;
      }
      default:
        throw new RastError(ErrorCode.STREAM_DAMAGED, `backup ${manifest.id}: command ${command.type} at byte ${command.offset} cannot be restored from a span`, { backup: manifest.id });
    }
  }

  /** A clone's source file, rebuilt from its spans in a scratch file inside the destination. */
  private async source(ranges: StreamRange[]): Promise<FileHandle> {
    const key = JSON.stringify(ranges);
    let scratch = this.scratch.get(key);
    if (!scratch) {
      const name = `.rast-clone-source-${randomBytes(6).toString('hex')}`;
      await (await this.tree.createFile(name)).close();
      const path = this.tree.absolute(name);
      scratch = { path, handle: await open(path, 'r+') };
      this.scratch.set(key, scratch);
      await this.replay(ranges, scratch.handle);
    }
    return scratch.handle;
  }

  async close(): Promise<void> {
    for (const { path, handle } of this.scratch.values()) {
      await handle.close();
      await unlink(path);
    }
  }
}

async function copyZeroes(handle: FileHandle, start: number, end: number): Promise<void> {
  for (let at = start; at < end; at += ZEROES.length) await handle.write(ZEROES, 0, Math.min(ZEROES.length, end - at), at);
}
