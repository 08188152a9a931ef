import { lstat, mkdir, mkdtemp, readdir, rename, rmdir } from 'node:fs/promises';
import path from 'node:path';
import {
  measureTree,
  pathBytes,
  type FileIndex,
  type IndexOutput,
  type Format,
  type RebuiltIndex,
  type ReindexContext,
  type RestoreContext,
  type RestoreReport,
  type SerializeContext,
  type Serialization,
  type VerifyContext,
  destinationInvalid,
  environmentInvalid,
  streamDamaged,
} from '@rast-backup/core';
import { runTool } from './BtrfsCommand.js';
import type { BtrfsFacts } from './BtrfsSource.js';
import { CommandOutput, commandInput } from './ChildStream.js';
import { countEntries } from './EntryCount.js';
import { indexDifference } from './IndexComparison.js';
import { SendStreamDecoder } from './SendStreamDecoder.js';
import { SendStreamIndexer } from './SendStreamIndexer.js';
import { SendStreamReceiver } from './SendStreamReceiver.js';
import { surveySend } from './SendSurvey.js';
import { restoreSpans } from './SpanRestorer.js';
import { isOnBtrfs } from './Subvolume.js';

/**
 * The link count of a path (an index path) in the parent snapshot, for the indexer to find hard links; a path
 * it cannot stat (a name an older index kept lossily) counts as linked, so that the indexer looks for the others.
 */
function linkCount(snapshot: string): (path: string) => Promise<number> {
  const root = Buffer.from(`${snapshot}/`);
  return async (path) => (await lstat(Buffer.concat([root, pathBytes(path)])).catch(() => ({ nlink: 2 }))).nlink;
}

/**
 * `btrfs send [-p parent] snapshot`, newest protocol the kernel offers, read straight into the parts. The
 * stream passes once through the decoder and the indexer, which builds the backup's file index on the way.
 * The decoder does not check CRCs here: the bytes come from the kernel through a private FIFO; they are
 * checked wherever a stored stream is read back (every restore, `verify --level full`).
 */
function serialize(context: SerializeContext): Serialization {
  const { snapshot, backupId, log } = context;
  const parent = snapshot.parentView;
  const args = ['send', '--proto', '0', '-q', ...(parent ? ['-p', parent] : []), snapshot.path];
  const facts = snapshot.details!.btrfs as BtrfsFacts;
  let sendProtocol: number | undefined;
  let indexer: SendStreamIndexer | undefined;
  let indexProblem: string | undefined;
  const decoder = new SendStreamDecoder(
    `btrfs send of ${snapshot.source}`,
    (command) => {
      sendProtocol = command.version;
      if (indexProblem) return;
      try {
        indexer!.apply(command);
      } catch (error) {
        indexProblem = (error as Error).message;
        log.warn(`backup ${backupId}: the file index is left empty: ${indexProblem}`);
      }
    },
    undefined,
    { checkCrc: false },
  );
  let output: Promise<CommandOutput> | undefined;
  let ended = false;
  return {
    fill: async (target) => {
      indexer ??= new SendStreamIndexer(
        backupId,
        parent ? context.parentIndex : undefined,
        parent ? { parentLinks: linkCount(parent) } : {},
      );
      output ??= CommandOutput.start('btrfs', args, `btrfs send of ${snapshot.source}`);
      const length = await (await output).fill(target);
      decoder.push(target.subarray(0, length));
      if (length < target.length) {
        decoder.finish();
        ended = true;
      }
      return length;
    },
    close: () => {
      output?.then(
        (started) => started.close(),
        () => {},
      );
    },
    details: () => ({ btrfs: { ...facts, sendProtocol } }),
    index: async (): Promise<IndexOutput> => {
      if (!ended) throw new Error('the file index is known only once the stream has ended');
      const empty: FileIndex = { format: 'rast-backup/index', version: 1, backupId, entries: [] };
      if (indexProblem || !indexer) return empty;
      try {
        return await indexer.index();
      } catch (error) {
        log.warn(`backup ${backupId}: the file index is left empty: ${(error as Error).message}`);
        return empty;
      }
    },
  };
}

/**
 * Chooses how a whole restore onto btrfs as root is written (tests, comparisons): `subvolume` (the user-space
 * receiver into a new subvolume at the destination), `btrfs-receive`, or `user-space` (a plain directory).
 */
const RECEIVER_ENVIRONMENT = 'RAST_BACKUP_BTRFS_RECEIVER';
const RECEIVERS = ['subvolume', 'btrfs-receive', 'user-space'];

/**
 * Receives the chain (full, then each incremental) with `btrfs receive` into a staging directory beside
 * the destination, then makes the last one writable, moves it to the destination and removes the rest.
 */
async function restoreWithBtrfsReceive(context: RestoreContext): Promise<RestoreReport> {
  const { chain, target, destination } = context;
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
      await commandInput(
        'btrfs',
        ['receive', '-e', '-C', staging],
        counted(context.openStream(manifest)),
        `btrfs receive of backup ${manifest.id}`,
      );
    }
    // Made writable (which clears its received UUID, as a snapshot has none), then moved: a snapshot would first
    // write every received byte back to disk, in the timed restore.
    const received = path.join(staging, target.id);
    await runTool('btrfs', ['property', 'set', '-f', '-ts', received, 'ro', 'false'], `making backup ${target.id} writable in ${staging}`);
    await rmdir(destination);
    await rename(received, destination);
  } finally {
    for (const name of await readdir(staging).catch(() => [])) {
      await runTool('btrfs', ['subvolume', 'delete', path.join(staging, name)], `removing ${name} from ${staging}`).catch(() => '');
    }
    await rmdir(staging).catch(() => {});
  }
  return { entries: await countEntries(destination), bytes, skipped: [], ownersNotSet: 0 };
}

/** Applies the chain's streams, oldest first, with the user-space receiver: onto any filesystem, as any user. */
async function restoreWithReceiver(context: RestoreContext, onBtrfs: boolean): Promise<RestoreReport> {
  const receiver = new SendStreamReceiver(context.destination, {
    isRoot: process.getuid?.() === 0,
    onBtrfs,
    note: (message) => context.log.warn(message),
  });
  try {
    for (const manifest of context.chain) await receiver.receive({ backup: manifest.id }, context.openStream(manifest));
    return receiver.finish();
  } catch (error) {
    receiver.abandon();
    throw error;
  }
}

/**
 * The user-space receiver into a new, writable subvolume at the destination (which core made, or found empty):
 * reflinks stay shared extents (its clones are copy_file_range, a reflink on btrfs). Not the default: it is no
 * faster than `btrfs receive` here (docs/benchmarks.md), and along a chain a clone from a parent file that the
 * stream changed first is copied, not shared.
 */
async function restoreIntoSubvolume(context: RestoreContext): Promise<RestoreReport> {
  const { destination, target } = context;
  await rmdir(destination);
  try {
    await runTool('btrfs', ['subvolume', 'create', destination], `creating subvolume ${destination} for backup ${target.id}`);
  } catch (error) {
    await mkdir(destination, { mode: 0o700 }).catch(() => {});
    throw error;
  }
  return restoreWithReceiver(context, true);
}

/**
 * A whole backup onto btrfs as root: `btrfs receive` (a subvolume, with reflinks), or with
 * RAST_BACKUP_BTRFS_RECEIVER=subvolume the user-space receiver into a subvolume. Anything else (another
 * filesystem, not root, or RAST_BACKUP_BTRFS_RECEIVER=user-space): the user-space receiver, into a directory.
 */
async function restore(context: RestoreContext): Promise<RestoreReport> {
  const { target, destination } = context;
  if (context.include.length > 0) return restoreSpans(context);
  const onBtrfs = await isOnBtrfs(destination);
  const forced = process.env[RECEIVER_ENVIRONMENT];
  if (forced !== undefined && !RECEIVERS.includes(forced)) {
    throw environmentInvalid(RECEIVER_ENVIRONMENT, forced, `expected ${RECEIVERS.join(', ')}`);
  }
  const isRoot = process.getuid?.() === 0;
  if ((forced === 'btrfs-receive' || forced === 'subvolume') && !(onBtrfs && isRoot)) {
    throw destinationInvalid(
      destination,
      `is ${onBtrfs ? '' : 'not '}on btrfs${isRoot ? '' : ' and this is not root'}: ${RECEIVER_ENVIRONMENT}=${forced}, but ${forced === 'btrfs-receive' ? 'btrfs receive' : 'a subvolume'} needs root and a destination on btrfs`,
      { backup: target.id },
    );
  }
  if (!onBtrfs || !isRoot || forced === 'user-space') return restoreWithReceiver(context, onBtrfs);
  if (forced === 'subvolume') return restoreIntoSubvolume(context);
  return restoreWithBtrfsReceive(context);
}

/**
 * Decodes the whole stream (every command's CRC32C, attribute framing, the END of every stream); for a full
 * backup, also rebuilds its file index and compares it with the stored one, both in index order, entry by
 * entry as the rebuilt one is walked (not spooled first).
 */
async function verify(context: VerifyContext): Promise<void> {
  const { manifest, index } = context;
  const indexer = await decodeWhole(
    context,
    manifest.parent === null && index.entries > 0 ? new SendStreamIndexer(manifest.id) : undefined,
  );
  if (!indexer) return;
  const difference = await indexDifference(indexer.fullIndex(), index);
  if (difference) {
    throw streamDamaged(manifest.id, `the send stream does not hold the files its index lists: ${difference}`);
  }
}

/** Decodes the whole stream into `indexer`; the decoder (and the last part it holds) is let go before the comparison. */
async function decodeWhole(context: VerifyContext, indexer: SendStreamIndexer | undefined): Promise<SendStreamIndexer | undefined> {
  const decoder = new SendStreamDecoder({ backup: context.manifest.id }, (command) => indexer?.apply(command));
  for await (const chunk of context.stream) decoder.push(chunk);
  decoder.finish();
  return indexer;
}

/** The file index from a stored send stream, by the indexer serialize runs (over the parent's index for an incremental). */
async function reindex(context: ReindexContext): Promise<RebuiltIndex> {
  const { manifest } = context;
  const indexer = new SendStreamIndexer(manifest.id, manifest.parent ? context.parentIndex : undefined);
  const decoder = new SendStreamDecoder({ backup: manifest.id }, (command) => indexer.apply(command));
  for await (const chunk of context.stream) decoder.push(chunk);
  decoder.finish();
  return { index: await indexer.index() };
}

/**
 * What a send stream adds to each entry's data, on average: the commands that make, name, own and date it
 * (within 0.1 % on a tree of 100,000 files). The tree is measured, not its extents: quotas (qgroups) are off on
 * most filesystems, and they count compressed bytes where the stream holds plain ones.
 */
const BYTES_PER_ENTRY = 270;

export function btrfsSendFormat(plugin: string): Format {
  const estimate = async (root: string, signal: AbortSignal) => {
    const measure = await measureTree(root, { oneFileSystem: true, signal });
    return measure && measure.bytes + measure.entries * BYTES_PER_ENTRY;
  };
  return {
    name: 'btrfs-send',
    plugin,
    version: 1,
    serialize,
    restore,
    verify,
    reindex,
    estimate,
    survey: ({ snapshot, signal }) => surveySend(snapshot.path, snapshot.parentView, `btrfs send --no-data of ${snapshot.source}`, signal),
  };
}
