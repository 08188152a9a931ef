import { displayPath, stopIfInterrupted, type Survey, type SurveyContext } from '@rast-backup/core';
import { unchangedStats } from './EntryDescription.js';
import { entryType } from './EntryStats.js';
import { mergeWithParent } from './ParentMerge.js';
import { takeStartedWalk } from './StartedWalks.js';
import { unchangedOnLine } from './StoredStats.js';
import { startWalk } from './TreeWalker.js';

/**
 * What serializeTree would store, from a walk that only lists and stat's (no content, xattrs nor targets read):
 * every regular file for a full backup; for an incremental, those whose lstat differs from the parent's entry,
 * as serializeTree finds them. A hard link's second name stores no content.
 */
export async function surveyTree(context: SurveyContext, options: { oneFileSystem: boolean }): Promise<Survey> {
  const { snapshot, parentIndex, log, signal } = context;
  const started =
    takeStartedWalk(snapshot, false) ??
    startWalk(snapshot.path, {
      exclude: snapshot.exclude,
      exclusion: snapshot.exclusion,
      oneFileSystem: options.oneFileSystem,
      details: false,
    });
  const walk = started.entries({
    onError: (relative, error) => log.warn(`${displayPath(relative)}: would not be backed up: ${error.message}`),
    onMountPointSkipped: () => {},
  });
  const linked = new Set<string>();
  let files = 0;
  let bytes = 0;
  for await (const merged of mergeWithParent(walk, parentIndex, unchangedOnLine, () => stopIfInterrupted(signal))) {
    stopIfInterrupted(signal);
    if (merged.gone !== undefined) continue;
    const { stats } = merged.walked;
    if (entryType(stats) !== 'file') continue;
    if (stats.nlink > 1n) {
      const identity = `${stats.dev}:${stats.ino}`;
      if (linked.has(identity)) continue;
      linked.add(identity);
    }
    if (merged.previous && unchangedStats(merged.previous, stats)) continue;
    files++;
    bytes += Number(stats.size);
  }
  return { files, bytes };
}
