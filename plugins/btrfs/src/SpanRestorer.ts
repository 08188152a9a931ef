import type { FileHandle } from 'node:fs/promises';
import { ErrorCode, RastError, type Manifest, type RestoreContext, type RestoreReport, type StreamRange } from '@rast-backup/core';
import { restoreIndexedTree, type FileToFill } from '@rast-backup/plugin-directory';
import { btrfsFacts } from './BtrfsSource.js';
import { Attribute, Command, SendStreamDecoder, u32, u64, type SendCommand } from './SendStreamDecoder.js';

const ZEROES = Buffer.alloc(1 << 20);
/** The commands that change a file's data; a span's other commands (times, owners, other files) are left to the index. */
const DATA_COMMANDS = new Set<number>([Command.WRITE, Command.CLONE, Command.ENCODED_WRITE, Command.FALLOCATE, Command.TRUNCATE, Command.UPDATE_EXTENT]);
const FALLOC_FL_KEEP_SIZE = 1;
const FALLOC_FL_PUNCH_HOLE = 2;

/** Why a file cannot be rebuilt from its spans alone, or undefined when it can. */
export function spanProblem(file: FileToFill): string | undefined {
  const { entry } = file;
  if (!entry.ranges) return entry.size > 0 ? `${entry.path} has no stream ranges in the index` : undefined;
  if (entry.ranges.some((range) => range.clone)) return `${entry.path} shares data with another file (a clone)`;
  return undefined;
}

/**
 * Restores what --include selects from a btrfs-send backup chain without replaying the chain: the tree
 * comes from the target's index, and each selected file's data from the spans of the streams the index
 * names, so only the parts holding those spans are fetched. Works on any filesystem.
 */
export async function restoreSpans(context: RestoreContext): Promise<RestoreReport> {
  const manifests = new Map(context.chain.map((manifest) => [manifest.id, manifest]));
  const versions = new Map<string, number>();
  const versionOf = async (manifest: Manifest): Promise<number> => {
    let version = versions.get(manifest.id) ?? btrfsFacts(manifest)?.sendProtocol;
    if (version === undefined) {
      const header: Buffer[] = [];
      for await (const chunk of context.rangeReader(manifest).read(0, 17)) header.push(chunk);
      version = Buffer.concat(header).readUInt32LE(13);
    }
    versions.set(manifest.id, version);
    return version;
  };

  return restoreIndexedTree(context, async (files, tree) => {
    const problems = files.map(spanProblem).filter((problem): problem is string => problem !== undefined);
    if (problems.length > 0) {
      throw new RastError(ErrorCode.USAGE, `backup ${context.target.id}: --include cannot be served from the index's spans: ${problems.slice(0, 3).join('; ')}`, { backup: context.target.id });
    }
    const order = (file: FileToFill) => {
      const first = file.entry.ranges?.[0];
      return first ? [context.chain.findIndex((manifest) => manifest.id === first.from), first.start] : [-1, 0];
    };
    files.sort((a, b) => order(a)[0]! - order(b)[0]! || order(a)[1]! - order(b)[1]!);
    let bytes = 0;
    for (const file of files) {
      const handle = await tree.createFile(file.target);
      try {
        for (const range of file.entry.ranges ?? []) {
          const manifest = manifests.get(range.from);
          if (!manifest) throw new RastError(ErrorCode.STREAM_DAMAGED, `backup ${context.target.id}: the index places data of ${file.entry.path} in backup ${range.from}, which is not in its chain`, { backup: context.target.id });
          bytes += await replaySpan(context, manifest, await versionOf(manifest), range, handle);
        }
        await handle.truncate(file.entry.size);
      } finally {
        await handle.close();
      }
    }
    return bytes;
  });
}

/** Applies the data commands of one span that name the file (by its path in that stream) to the open file. */
async function replaySpan(context: RestoreContext, manifest: Manifest, version: number, range: StreamRange, handle: FileHandle): Promise<number> {
  const pending: SendCommand[] = [];
  const decoder = new SendStreamDecoder(`backup ${manifest.id}`, (command) => {
    if (!DATA_COMMANDS.has(command.type) || command.attributes.get(Attribute.PATH)?.toString('utf8') !== range.path) return;
    // Attribute values are views valid only during the callback: keep a copy of the ones applied later.
    pending.push({ ...command, attributes: new Map([...command.attributes].map(([type, value]) => [type, Buffer.from(value)])) });
  }, { version, offset: range.start });
  let bytes = 0;
  for await (const chunk of context.rangeReader(manifest).read(range.start, range.end)) {
    decoder.push(chunk);
    for (const command of pending.splice(0)) bytes += await applyData(manifest, command, handle);
  }
  decoder.finish();
  return bytes;
}

async function applyData(manifest: Manifest, command: SendCommand, handle: FileHandle): Promise<number> {
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
      const size = u64(attributes.get(Attribute.SIZE));
      const length = (await handle.stat()).size;
      if (mode & FALLOC_FL_PUNCH_HOLE) {
        // A hole inside what the file holds so far reads as zeroes.
        for (let at = offset; at < Math.min(offset + size, length); at += ZEROES.length) await handle.write(ZEROES, 0, Math.min(ZEROES.length, Math.min(offset + size, length) - at), at);
      } else if (!(mode & FALLOC_FL_KEEP_SIZE) && offset + size > length) await handle.truncate(offset + size);
      return 0;
    }
    default:
      throw new RastError(ErrorCode.STREAM_DAMAGED, `backup ${manifest.id}: command ${command.type} at byte ${command.offset} cannot be restored from a span`, { backup: manifest.id });
  }
}
