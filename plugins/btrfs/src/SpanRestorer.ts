import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import {
  displayPath,
  indexPath,
  type Manifest,
  type RestoreContext,
  type RestoreReport,
  type StreamRange,
  optionInvalid,
  streamDamaged,
} from '@rast-backup/core';
import { batches, restoreIndexedTree, type FileToFill, type SafeTree } from '@rast-backup/restore-kit';
import { isRestorableXattr } from './BtrfsProperties.js';
import { sourceAt } from './CloneSource.js';
import { btrfsFacts } from './BtrfsSource.js';
import { BadAttribute, commandName } from './CommandAttributes.js';
import { applyDataCommand, DATA_COMMANDS } from './DataCommand.js';
import { UndecodableExtent } from './EncodedExtent.js';
import { BadFileData, FileDataWriter } from './FileDataWriter.js';
import { Attribute, Command, SendStreamDecoder, type SendCommand } from './SendStreamDecoder.js';
import { isOnBtrfs } from './Subvolume.js';

/** Files restored from their spans are sorted by stream offset this many at a time. */
const SPAN_BATCH = 4096;

/** Whether a command's PATH is a span's path: exactly, or as indexes made before names were kept as bytes wrote it (lossy UTF-8). */
function namesFile(commandPath: Buffer | undefined, spanPath: string): boolean {
  const bytes = commandPath ?? Buffer.alloc(0);
  return indexPath(bytes) === spanPath || bytes.toString('utf8') === spanPath;
}

/** Why a file cannot be rebuilt from its spans alone, or undefined when it can. Each list of spans is looked at once (sources are shared, and may be the file itself). */
function spanProblem(
  entryPath: string,
  size: number,
  ranges: StreamRange[] | undefined,
  seen = new Set<StreamRange[]>(),
): string | undefined {
  if (!ranges) return size > 0 ? `${entryPath} has no stream ranges in the index` : undefined;
  if (seen.has(ranges)) return undefined;
  seen.add(ranges);
  for (const range of ranges) {
    if (range.clone) return `${entryPath} shares data (a clone) with a file outside the backup chain`;
    for (const clone of range.clones ?? []) {
      const problem = spanProblem(`the clone source of ${entryPath}`, 1, clone.source, seen);
      if (problem) return problem;
    }
  }
  return undefined;
}

/** Whether two spans hold the same commands (from the same start; `end` is not compared). */
function sameStart(a: StreamRange, b: StreamRange): boolean {
  return a.from === b.from && a.start === b.start && a.path === b.path;
}

/**
 * Whether a clone's source, as it was at the clone, is the file being replayed as it stands now: the same
 * spans as those replayed before, and the current one up to the clone (a file cloning from itself).
 */
function isReplayedSoFar(source: StreamRange[], replayed: StreamRange[], current: number): boolean {
  if (source.length !== current + 1) return false;
  for (let position = 0; position < current; position += 1) {
    if (!sameStart(source[position]!, replayed[position]!) || source[position]!.end !== replayed[position]!.end) return false;
  }
  return sameStart(source[current]!, replayed[current]!);
}

/**
 * Restores what --include selects from a btrfs-send backup chain without replaying the chain: the tree
 * comes from the target's index, and each selected file's data from the spans of the streams the index
 * names, so only the parts holding those spans are fetched. A clone copies from its source file, rebuilt
 * the same way (from the spans the index recorded for it at that moment) in a scratch file inside the
 * destination. Works on any filesystem.
 */
export async function restoreSpans(context: RestoreContext): Promise<RestoreReport> {
  const onBtrfs = await isOnBtrfs(context.destination);
  return restoreIndexedTree(
    context,
    async (files, tree) => {
      const problems: string[] = [];
      for await (const { entry } of files) {
        const problem = spanProblem(displayPath(entry.path), entry.size, entry.ranges);
        if (problem && problems.push(problem) === 3) break;
      }
      if (problems.length > 0) {
        throw optionInvalid(
          '--include',
          undefined,
          `cannot be served from the spans of backup ${context.target.id}'s index: ${problems.join('; ')}; restore the backup whole`,
          { backup: context.target.id },
        );
      }
      const position = (file: FileToFill): [number, number] => {
        const first = file.entry.ranges?.[0];
        return first ? [context.chain.findIndex((manifest) => manifest.id === first.from), first.start] : [-1, 0];
      };
      const spans = new SpanReplayer(context, tree);
      try {
        let bytes = 0;
        // In stream order a batch at a time: parts are fetched once per batch, and memory stays bounded.
        for await (const batch of batches(files, SPAN_BATCH)) {
          batch.sort((a, b) => position(a)[0] - position(b)[0] || position(a)[1] - position(b)[1]);
          for (const file of batch) {
            const handle = await tree.createFile(file.target);
            try {
              const writer = FileDataWriter.open(handle.fd);
              bytes += await spans.replay(file.entry.ranges ?? [], writer);
              writer.truncate(file.entry.size);
            } finally {
              await handle.close();
            }
          }
        }
        return bytes;
      } finally {
        await spans.close();
      }
    },
    (name) => isRestorableXattr(name, onBtrfs),
  );
}

/** Replays spans onto open files; clone sources are rebuilt once each, in scratch files removed at the end. */
class SpanReplayer {
  private readonly manifests: Map<string, Manifest>;
  private readonly versions = new Map<string, number>();
  private readonly scratch = new Map<string, { path: Buffer; handle: FileHandle; writer: FileDataWriter }>();

  constructor(
    private readonly context: RestoreContext,
    private readonly tree: SafeTree,
  ) {
    this.manifests = new Map(context.chain.map((manifest) => [manifest.id, manifest]));
  }

  async replay(ranges: StreamRange[], writer: FileDataWriter): Promise<number> {
    let bytes = 0;
    for (const [position, range] of ranges.entries()) {
      const manifest = this.manifests.get(range.from);
      if (!manifest)
        throw streamDamaged(this.context.target.id, `its index places file data in backup ${range.from}, which is not in its chain`);
      bytes += await this.replaySpan(manifest, ranges, position, writer);
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

  /** Applies the data commands of one span (`ranges[position]`) that name the file (by its path in that stream). */
  private async replaySpan(manifest: Manifest, ranges: StreamRange[], position: number, writer: FileDataWriter): Promise<number> {
    const range = ranges[position]!;
    const pending: SendCommand[] = [];
    const decoder = new SendStreamDecoder(
      { backup: manifest.id },
      (command) => {
        // A span's other commands (times, owners, other files) are left to the index.
        if (!DATA_COMMANDS.has(command.type) || !namesFile(command.attributes.get(Attribute.PATH), range.path)) return;
        // Attribute values are views valid only during the callback: keep a copy of the ones applied later.
        pending.push({ ...command, attributes: new Map([...command.attributes].map(([type, value]) => [type, Buffer.from(value)])) });
      },
      { version: await this.version(manifest), offset: range.start },
    );
    let bytes = 0;
    for await (const chunk of this.context.rangeReader(manifest).read(range.start, range.end)) {
      decoder.push(chunk);
      for (const command of pending.splice(0)) bytes += await this.apply(manifest, ranges, position, command, writer);
    }
    decoder.finish();
    return bytes;
  }

  private async apply(
    manifest: Manifest,
    ranges: StreamRange[],
    position: number,
    command: SendCommand,
    writer: FileDataWriter,
  ): Promise<number> {
    const range = ranges[position]!;
    try {
      let source: FileDataWriter | undefined;
      if (command.type === Command.CLONE) {
        const clone = range.clones?.find((candidate) => candidate.at === command.offset);
        if (!clone) throw new BadFileData('a clone whose source the index does not hold');
        const spans = sourceAt(clone.source, range.from, clone.at);
        source = isReplayedSoFar(spans, ranges, position) ? writer : await this.source(spans);
      }
      return applyDataCommand(command, writer, ({ offset, length, sourceOffset }) => writer.clone(offset, length, source!, sourceOffset));
    } catch (error) {
      if (error instanceof BadAttribute || error instanceof BadFileData || error instanceof UndecodableExtent) {
        throw streamDamaged(
          manifest.id,
          `send stream at byte ${command.offset}, ${commandName(command.type)} for ${displayPath(range.path)}: ${error.message}`,
          { offset: command.offset },
        );
      }
      throw error;
    }
  }

  /** A clone's source file, rebuilt from its spans in a scratch file inside the destination (once per distinct spans). */
  private async source(ranges: StreamRange[]): Promise<FileDataWriter> {
    const key = JSON.stringify(ranges.map((range) => [range.from, range.start, range.end, range.path]));
    let scratch = this.scratch.get(key);
    if (!scratch) {
      const name = `.rast-clone-source-${randomBytes(6).toString('hex')}`;
      await (await this.tree.createFile(name)).close();
      const path = this.tree.absolute(name);
      const handle = await open(path, constants.O_RDWR | constants.O_NOFOLLOW);
      scratch = { path, handle, writer: FileDataWriter.open(handle.fd) };
      this.scratch.set(key, scratch);
      await this.replay(ranges, scratch.writer);
      scratch.writer.flush();
    }
    return scratch.writer;
  }

  async close(): Promise<void> {
    for (const { path, handle } of this.scratch.values()) {
      await handle.close();
      await unlink(path);
    }
  }
}
