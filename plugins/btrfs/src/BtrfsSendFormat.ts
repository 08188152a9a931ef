import { mkdtemp, readdir, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, RastError, type FileIndex, type Format, type RestoreContext, type RestoreReport, type SerializeContext, type Serialization, type VerifyContext } from '@rast-backup/core';
import { runTool } from './BtrfsCommand.js';
import { parentSnapshots, type BtrfsFacts } from './BtrfsSource.js';
import { commandInput, commandOutput } from './ChildStream.js';
import { isOnBtrfs } from './Subvolume.js';

const STREAM_MAGIC = Buffer.from('btrfs-stream\0');

/** `btrfs send [-p parent] snapshot`, newest protocol the kernel offers; the version is read from the stream header. */
function serialize(context: SerializeContext): Serialization {
  const { snapshot, backupId } = context;
  const parent = parentSnapshots.get(snapshot);
  const args = ['send', '--proto', '0', '-q', ...(parent ? ['-p', parent] : []), snapshot.path];
  const facts = snapshot.details!.btrfs as BtrfsFacts;
  return {
    stream: (async function* () {
      let headerSeen = false;
      for await (const chunk of commandOutput('btrfs', args, `btrfs send of ${snapshot.source}`)) {
        if (!headerSeen) {
          if (chunk.length < 17 || !chunk.subarray(0, 13).equals(STREAM_MAGIC)) throw new RastError(ErrorCode.STREAM_DAMAGED, `btrfs send of ${snapshot.source} did not start with a send-stream header`);
          facts.sendProtocol = chunk.readUInt32LE(13);
          headerSeen = true;
        }
        yield chunk;
      }
    })(),
    // The file listing of send streams comes with the send-stream decoder; until then the index is empty.
    index: (): FileIndex => ({ format: 'rast-backup/index', version: 1, backupId, entries: [] }),
  };
}

/**
 * Receives the chain (full, then each incremental) with `btrfs receive` into a staging directory beside
 * the destination, then puts a writable snapshot of the last one at the destination and removes the rest.
 */
async function restore(context: RestoreContext): Promise<RestoreReport> {
  const { chain, target, destination } = context;
  if (context.include.length > 0) {
    throw new RastError(ErrorCode.USAGE, `backup ${target.id} is a btrfs send stream: --include needs the send-stream decoder, which this version lacks; restore it whole`, { backup: target.id });
  }
  if (!(await isOnBtrfs(destination))) {
    throw new RastError(ErrorCode.DESTINATION_INVALID, `backup ${target.id} is a btrfs send stream and ${destination} is not on btrfs: this version restores send streams only onto btrfs (btrfs receive)`, { backup: target.id });
  }
  if (process.getuid?.() !== 0) throw new RastError(ErrorCode.DESTINATION_INVALID, `restoring btrfs backup ${target.id} needs root (btrfs receive)`, { backup: target.id });
  const staging = await mkdtemp(path.join(path.dirname(destination), '.rast-restore-'));
  let bytes = 0;
  const counted = async function* (stream: AsyncIterable<Buffer>) {
    for await (const chunk of stream) {
      bytes += chunk.length;
      yield chunk;
    }
  };
  try {
    for (const manifest of chain) {
      await commandInput('btrfs', ['receive', '-e', '-C', staging], counted(context.openStream(manifest)), `btrfs receive of backup ${manifest.id}`);
    }
    await rmdir(destination);
    await runTool('btrfs', ['subvolume', 'snapshot', path.join(staging, target.id), destination], `placing backup ${target.id} at ${destination}`);
  } finally {
    for (const name of await readdir(staging).catch(() => [])) {
      await runTool('btrfs', ['subvolume', 'delete', path.join(staging, name)], `removing ${name} from ${staging}`).catch(() => '');
    }
    await rmdir(staging).catch(() => {});
  }
  return { entries: 0, bytes, skipped: [] };
}

/** Decodes the stream with `btrfs receive --dump`, which checks every command's CRC32C. */
async function verify(context: VerifyContext): Promise<void> {
  try {
    await commandInput('btrfs', ['receive', '--dump'], context.stream, `decoding backup ${context.manifest.id}`);
  } catch (error) {
    if (error instanceof RastError && error.code === ErrorCode.TOOL_MISSING) throw error;
    throw new RastError(ErrorCode.STREAM_DAMAGED, `backup ${context.manifest.id}: the btrfs send stream is damaged: ${(error as Error).message}`, { backup: context.manifest.id });
  }
}

export function btrfsSendFormat(plugin: string): Format {
  return { name: 'btrfs-send', plugin, version: 1, serialize, restore, verify };
}
