import {
  deleteBackup,
  deleteKeys,
  ErrorCode,
  ProgressCounter,
  RastError,
  sinkFailed,
  stoppedPartway,
  RepositoryKeys,
  runOperation,
  type Runtime,
} from '@rast-backup/core';
import { applyRetention, describeRules, removalOrder, type RetentionDecision } from './RetentionPolicy.js';
import { hasCountingRule, noCountingRule, type RetentionSettings } from './RetentionSettings.js';

export interface PruneOptions {
  dryRun: boolean;
  /** The present moment (tests set it). */
  now?: Date;
}

/** Data of a create that never committed, in one sink, and what prune does with it. */
export interface LeftoverDecision {
  id: string;
  sink: string;
  objects: number;
  size: number;
  remove: boolean;
  reason: string;
}

export interface PruneReport {
  dryRun: boolean;
  rules: string;
  /** `config` (`[retention]`) or `command line` (`prune --keep-*`). */
  rulesFrom: 'config' | 'command line';
  /** Every backup, oldest first, with the decision and its reasons. */
  backups: Array<RetentionDecision & { name: string | null; storedSize: number }>;
  /** Ids removed (or, with dryRun, to be removed), in the order of removal: children before parents. */
  removed: string[];
  leftovers: LeftoverDecision[];
  /** Stored bytes freed in each sink (or to be freed). */
  freedBytes: number;
}

const ID_TIME = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-[0-9a-f]+$/;

/** When a backup id says it was started, or undefined for a name rast-backup did not make. */
function startedAt(id: string): number | undefined {
  const match = ID_TIME.exec(id);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [number, number, number, number, number, number];
  return Date.UTC(year, month - 1, day, hour, minute, second);
}

async function hasManifest(runtime: Runtime, sinkName: string, id: string): Promise<boolean> {
  const sink = runtime.sinks.find((candidate) => candidate.name === sinkName)!;
  try {
    await sink.get(RepositoryKeys.manifest(id));
    return true;
  } catch (error) {
    if (error instanceof RastError && error.code === ErrorCode.PART_MISSING) return false;
    throw error;
  }
}

/** Which leftovers of interrupted creates are old enough to be garbage. */
async function planLeftovers(runtime: Runtime, settings: RetentionSettings, now: Date): Promise<LeftoverDecision[]> {
  const decisions: LeftoverDecision[] = [];
  for (const leftover of await runtime.repository.catalog.leftovers()) {
    const started = startedAt(leftover.id);
    const hours = started === undefined ? undefined : (now.getTime() - started) / 3_600_000;
    let reason: string;
    let remove = false;
    if (hours === undefined) reason = 'not named like a backup id: left alone';
    else if (await hasManifest(runtime, leftover.sink, leftover.id))
      reason = 'its manifest is there but unreadable (damaged?): left for inspection; see rast-backup list warnings';
    else if (hours < settings.leftoverAgeHours)
      reason = `started ${hours.toFixed(1)} hours ago: a create may still be writing it (leftover_age_hours = ${settings.leftoverAgeHours})`;
    else {
      remove = true;
      reason = `interrupted create, started ${Math.floor(hours)} hours ago, never committed`;
    }
    decisions.push({ ...leftover, remove, reason });
  }
  return decisions;
}

/**
 * Applies the retention policy: removes the backups no rule keeps (children before parents, through
 * core's deleteBackup so that plugins release what they keep, e.g. local btrfs snapshots), then the data
 * of interrupted creates older than `leftover_age_hours`. With dryRun, only says what it would do.
 */
export async function prune(runtime: Runtime, settings: RetentionSettings, options: PruneOptions): Promise<PruneReport> {
  return runOperation(runtime, 'prune', {}, async () => {
    if (!hasCountingRule(settings.rules)) {
      throw noCountingRule(settings, 'retention', ' in [retention], or give prune --keep-last, --keep-daily, … for one run');
    }
    const now = options.now ?? new Date();
    const entries = await runtime.repository.catalog.entries();
    const candidates = entries.map(({ head: manifest }) => ({
      id: manifest.id,
      created: manifest.created,
      parent: manifest.parent,
      tags: manifest.tags,
      host: manifest.host,
      source: manifest.source.path,
    }));
    const decisions = applyRetention(candidates, settings.rules);
    const order = removalOrder(decisions, candidates);
    const leftovers = await planLeftovers(runtime, settings, now);
    const byId = new Map(entries.map((entry) => [entry.head.id, entry.head]));
    const report: PruneReport = {
      dryRun: options.dryRun,
      rules: describeRules(settings.rules),
      rulesFrom: settings.rulesFrom,
      backups: decisions.map((decision) => ({
        ...decision,
        name: byId.get(decision.id)!.name,
        storedSize: byId.get(decision.id)!.storedSize,
      })),
      removed: options.dryRun ? order : [],
      leftovers,
      freedBytes: 0,
    };
    const copies = new Map(entries.map((entry) => [entry.head.id, entry.sinks.length]));
    const freed = (ids: string[]) => ids.reduce((sum, id) => sum + byId.get(id)!.storedSize * copies.get(id)!, 0);
    if (options.dryRun) {
      report.freedBytes = freed(order) + leftovers.filter((leftover) => leftover.remove).reduce((sum, leftover) => sum + leftover.size, 0);
      return report;
    }

    const removing = leftovers.filter((leftover) => leftover.remove);
    const total = freed(order) + removing.reduce((sum, leftover) => sum + leftover.size, 0);
    const progress = new ProgressCounter(
      runtime.pipeline.hooks.progress,
      'prune',
      `${order.length} backup${order.length === 1 ? '' : 's'}`,
      total,
    );
    for (const id of order) {
      try {
        await deleteBackup(runtime, id);
        progress.add(freed([id]));
      } catch (error) {
        // Removed meanwhile by another prune or delete: what this one wanted is done.
        if (error instanceof RastError && error.code === ErrorCode.BACKUP_NOT_FOUND) continue;
        throw stoppedPartway(
          `prune stopped after removing ${report.removed.length} of ${order.length} backups`,
          error,
          'nothing that a kept backup needs was removed, run prune again',
          { removed: report.removed, failedAt: id },
        );
      }
      report.removed.push(id);
    }
    report.freedBytes = freed(report.removed);
    for (const leftover of removing) {
      const sink = runtime.sinks.find((candidate) => candidate.name === leftover.sink)!;
      try {
        await deleteKeys(sink, await runtime.repository.catalog.leftoverKeys(sink, leftover.id));
      } catch (error) {
        throw sinkFailed(sink, `remove the leftovers of interrupted create ${leftover.id}`, error, {
          advice: 'run prune again',
          facts: { backup: leftover.id },
        });
      }
      report.freedBytes += leftover.size;
      progress.add(leftover.size);
    }
    runtime.repository.catalog.invalidate();
    return report;
  });
}
