import { readdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { indexPath } from '@rast-backup/core';
import * as assert from 'uvu/assert';
import { BtrfsLab, sh } from './BtrfsLab.js';
import { sharedWithinTree } from './SharedExtents.js';
import { differences, fingerprint } from './TreeFingerprint.js';

export type Step = (source: string, lab: BtrfsLab) => void | Promise<void>;

/**
 * Makes the snapshots of `steps` (one after each), sends them as a chain in each protocol, then checks
 * that `btrfs receive` and the user-space receiver (onto tmpfs, and into a new subvolume on the btrfs, as
 * restore does there) both rebuild every snapshot of the chain exactly: type, mode, owner, size, content,
 * target, rdev, hard links, xattrs, mtime (and holes); into the subvolume, with as many bytes shared between
 * its files (reflinks, clones) as `btrfs receive` leaves shared.
 */
export async function differential(steps: Step[], options: { flags?: string[][]; sparse?: RegExp; lab?: BtrfsLab } = {}): Promise<void> {
  const lab = options.lab ?? (await BtrfsLab.create());
  const snapshots: string[] = [];
  for (const step of steps) {
    await step(lab.source, lab);
    snapshots.push(lab.snapshot());
  }
  const destinations = await lab.destination('tmpfs', 1024);
  for (const flags of options.flags ?? [
    ['--proto', '1'],
    ['--proto', '2'],
  ]) {
    const streams = snapshots.map((snapshot, index) => lab.send(snapshot, index > 0 ? snapshots[index - 1] : undefined, flags));
    for (let last = 0; last < snapshots.length; last += 1) {
      const expected = fingerprint(snapshots[last]!, { sparse: options.sparse });
      const received = lab.btrfsReceive(streams.slice(0, last + 1), path.basename(snapshots[last]!));
      const withoutSparse = fingerprint(snapshots[last]!);
      const byBtrfsReceive = fingerprint(received);
      // btrfs receive sometimes leaves the root's mtime at the time of receiving: the kernel can send the root's
      // times before the stream's last rename into the root. Only the user-space receiver is held to it.
      byBtrfsReceive['.'] = byBtrfsReceive['.']!.replace(/mtime_us=\d+/, withoutSparse['.']!.match(/mtime_us=\d+/)![0]);
      assert.equal(differences(withoutSparse, byBtrfsReceive), [], `btrfs receive of ${flags.join(' ')} chain up to ${last}`);
      const destination = path.join(destinations, `${flags.join('')}-${last}`);
      await mkdir(destination);
      const report = await BtrfsLab.receive(streams.slice(0, last + 1), destination);
      assert.equal(report.skipped, [], 'as root onto tmpfs, everything is restored');
      assert.equal(
        differences(expected, fingerprint(destination, { sparse: options.sparse })),
        [],
        `user-space receiver of ${flags.join(' ')} chain up to ${last}`,
      );
      const subvolume = path.join(lab.mountPoint, 'received', `u${flags.join('')}-${last}`);
      sh('btrfs', ['subvolume', 'create', subvolume]);
      const intoSubvolume = await BtrfsLab.receive(streams.slice(0, last + 1), subvolume, { onBtrfs: true });
      assert.equal(intoSubvolume.skipped, [], 'as root onto btrfs, everything is restored');
      assert.equal(
        differences(expected, fingerprint(subvolume, { sparse: options.sparse })),
        [],
        `user-space receiver into a subvolume, ${flags.join(' ')} chain up to ${last}`,
      );
      // The receiver decompresses --compressed-data extents, so they cannot be shared as btrfs receive shares them.
      // Along a chain, a clone from a parent file that the stream changed first is copied, where btrfs receive shares it.
      if (!flags.includes('--compressed-data')) {
        const [ours, theirs] = [sharedWithinTree(subvolume), sharedWithinTree(received)];
        const what = `bytes shared within the tree, user-space receiver into a subvolume (${ours}) against btrfs receive (${theirs}), ${flags.join(' ')} chain up to ${last}`;
        assert.ok(last === 0 ? ours === theirs : ours <= theirs, what);
      }
      sh('btrfs', ['subvolume', 'delete', subvolume]);
      // Partial restore of everything (each top-level entry selected) from the index's spans: the same tree, but the root's own metadata.
      const partial = `${destination}-spans`;
      await mkdir(partial);
      // Names as index paths: bytes that are not UTF-8 (the receiver test makes one) must select the exact name.
      const topLevel = readdirSync(snapshots[last]!, { encoding: 'buffer' }).map((name) => indexPath(name));
      if (topLevel.length > 0) {
        const spans = await BtrfsLab.restoreSpans(
          streams.slice(0, last + 1),
          partial,
          topLevel.map((name) => name.replace(/[*?[\]{}()!@+]/g, '\\$&')),
        );
        assert.equal(spans.skipped, [], 'as root onto tmpfs, the span restorer restores everything');
        const { '.': _root, ...withoutRoot } = expected;
        const { '.': _partialRoot, ...partialWithoutRoot } = fingerprint(partial, { sparse: options.sparse });
        assert.equal(differences(withoutRoot, partialWithoutRoot), [], `span restore of ${flags.join(' ')} chain up to ${last}`);
      }
    }
  }
}
