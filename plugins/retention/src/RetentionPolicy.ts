/**
 * The retention policy as a pure function: which backups to keep, which to remove, and why.
 *
 * Backups are grouped by host and source. In each group, walking from the newest backup to the oldest,
 * each calendar rule (`hourly`, `daily`, `weekly`, `monthly`, `yearly`) keeps the newest backup of each of
 * its last N periods that have a backup (like restic's and borg's `--keep-daily`): a week without backups
 * does not use up `daily`. `last` keeps the N newest backups; a backup carrying one of `keepTags` is always
 * kept, and so is the newest backup of each group (the next `--parent latest` builds on it).
 * Then the chain rule: every backup a kept incremental depends on (its parent, the parent's parent, …, the
 * full backup) is kept too.
 */
import { walkParents } from '@rast-backup/core';

export interface RetentionRules {
  last?: number;
  hourly?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
  yearly?: number;
  /** Backups with any of these tags are always kept. */
  keepTags?: string[];
}

/** What the policy needs to know of a backup (a manifest has all of it). */
export interface RetentionCandidate {
  id: string;
  /** ISO-8601. */
  created: string;
  parent: string | null;
  tags: string[];
  host: string;
  /** The source path. */
  source: string;
}

export interface RetentionDecision {
  id: string;
  /** `host:source`. */
  group: string;
  created: string;
  keep: boolean;
  /** Why it is kept (every rule that keeps it), or why it goes. */
  reasons: string[];
}

export interface RetentionOptions {
  /** Calendar periods in the local time zone (default, like systemd's OnCalendar) or in UTC. */
  timeZone?: 'local' | 'utc';
}

type CalendarRule = 'hourly' | 'daily' | 'weekly' | 'monthly' | 'yearly';

const CALENDAR_RULES: CalendarRule[] = ['hourly', 'daily', 'weekly', 'monthly', 'yearly'];

const pad = (value: number, width = 2) => String(value).padStart(width, '0');

/** The period of each calendar rule a moment falls in, as a readable label (`2025-12-25`, `2025-W52`). */
export function periodsOf(date: Date, timeZone: 'local' | 'utc' = 'local'): Record<CalendarRule, string> {
  const utc = timeZone === 'utc';
  const year = utc ? date.getUTCFullYear() : date.getFullYear();
  const month = (utc ? date.getUTCMonth() : date.getMonth()) + 1;
  const day = utc ? date.getUTCDate() : date.getDate();
  const hour = utc ? date.getUTCHours() : date.getHours();
  // ISO 8601 week: the week (Monday to Sunday) belongs to the year that holds its Thursday.
  const thursday = new Date(Date.UTC(year, month - 1, day));
  thursday.setUTCDate(thursday.getUTCDate() - ((thursday.getUTCDay() + 6) % 7) + 3);
  const weekYear = thursday.getUTCFullYear();
  const week = 1 + Math.floor((thursday.getTime() - Date.UTC(weekYear, 0, 1)) / (7 * 86_400_000));
  return {
    hourly: `${year}-${pad(month)}-${pad(day)} ${pad(hour)}h`,
    daily: `${year}-${pad(month)}-${pad(day)}`,
    weekly: `${weekYear}-W${pad(week)}`,
    monthly: `${year}-${pad(month)}`,
    yearly: `${year}`,
  };
}

export function describeRules(rules: RetentionRules): string {
  const counts = (['last', ...CALENDAR_RULES] as const).filter((rule) => (rules[rule] ?? 0) > 0).map((rule) => `${rule} ${rules[rule]}`);
  const tags = rules.keepTags?.length ? [`keep_tags ${rules.keepTags.join(', ')}`] : [];
  return [...counts, ...tags].join(', ') || 'no rule';
}

/** Decides for every backup; the result is in the order of `candidates`. */
export function applyRetention(
  candidates: RetentionCandidate[],
  rules: RetentionRules,
  options: RetentionOptions = {},
): RetentionDecision[] {
  const time = (candidate: RetentionCandidate) => Date.parse(candidate.created);
  const reasons = new Map<string, string[]>(candidates.map((candidate) => [candidate.id, []]));
  const keep = (id: string, reason: string) => reasons.get(id)!.push(reason);
  const groupOf = (candidate: RetentionCandidate) => `${candidate.host}:${candidate.source}`;

  const groups = new Map<string, RetentionCandidate[]>();
  for (const candidate of candidates) {
    const group = groups.get(groupOf(candidate)) ?? [];
    group.push(candidate);
    groups.set(groupOf(candidate), group);
  }
  for (const [group, members] of groups) {
    const newestFirst = [...members].sort((a, b) => time(b) - time(a) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    keep(newestFirst[0]!.id, `latest of ${group}`);
    newestFirst.slice(0, rules.last ?? 0).forEach((candidate, index) => keep(candidate.id, `last ${index + 1}/${rules.last}`));
    for (const rule of CALENDAR_RULES) {
      const wanted = rules[rule] ?? 0;
      let taken = 0;
      let previous: string | undefined;
      for (const candidate of newestFirst) {
        if (taken >= wanted) break;
        const period = periodsOf(new Date(time(candidate)), options.timeZone)[rule];
        if (period === previous) continue;
        previous = period;
        taken++;
        keep(candidate.id, `${rule} ${taken}/${wanted} (${period})`);
      }
    }
  }
  for (const candidate of candidates) {
    const tag = candidate.tags.find((candidateTag) => rules.keepTags?.includes(candidateTag));
    if (tag !== undefined) keep(candidate.id, `tag ${tag}`);
  }

  // The chain rule: what a kept incremental needs stays. Newest first, so each ancestor names the newest
  // kept backup that needs it; a walk stops at an ancestor already marked (its own ancestors are too).
  const byId = new Map(candidates.map((candidate) => [candidate.id, candidate]));
  const keptByRule = candidates.filter((candidate) => reasons.get(candidate.id)!.length > 0).sort((a, b) => time(b) - time(a));
  const needed = new Set<string>();
  for (const kept of keptByRule) {
    for (const parent of walkParents(kept, byId).parents) {
      if (needed.has(parent.id)) break;
      needed.add(parent.id);
      keep(parent.id, `needed by ${kept.id}`);
    }
  }

  const removal = `kept by no rule (${describeRules(rules)}), and no kept backup depends on it`;
  return candidates.map((candidate) => {
    const why = reasons.get(candidate.id)!;
    return {
      id: candidate.id,
      group: groupOf(candidate),
      created: candidate.created,
      keep: why.length > 0,
      reasons: why.length > 0 ? why : [removal],
    };
  });
}

/**
 * The backups to remove, children before parents, so that each removal leaves no backup behind that
 * depends on it. (The policy never keeps a child of a removed backup, so this order always exists.)
 */
export function removalOrder(decisions: RetentionDecision[], candidates: RetentionCandidate[]): string[] {
  const removed = new Set(decisions.filter((decision) => !decision.keep).map((decision) => decision.id));
  const byId = new Map(candidates.map((candidate) => [candidate.id, candidate]));
  /** Parent links followed up to the full backup (or the first parent not there), or until the parents loop. */
  const depth = (id: string): number => {
    const { parents, end } = walkParents(byId.get(id)!, byId);
    return parents.length + (end.at === 'loop' ? 1 : 0);
  };
  return [...removed]
    .map((id) => ({ id, depth: depth(id), created: byId.get(id)!.created }))
    .sort((a, b) => b.depth - a.depth || (a.created < b.created ? 1 : -1))
    .map(({ id }) => id);
}

export interface ChainRules {
  /** A chain holds at most this many backups: the full one and fullEvery − 1 incrementals. */
  fullEvery?: number;
  /** Start a new full backup once the chain's full backup is this many days old. */
  fullAfterDays?: number;
}

/**
 * Why `create --parent latest` should start a new full backup instead of extending `chain` (the latest
 * backup's chain, full backup first), or undefined to extend it.
 */
export function newChainReason(chain: Array<{ id: string; created: string }>, rules: ChainRules, now: Date): string | undefined {
  const latest = chain.at(-1)!;
  if (rules.fullEvery !== undefined && chain.length >= rules.fullEvery) {
    return `the chain of ${latest.id} holds ${chain.length} backup${chain.length === 1 ? '' : 's'} (full_every = ${rules.fullEvery})`;
  }
  if (rules.fullAfterDays !== undefined) {
    const days = (now.getTime() - Date.parse(chain[0]!.created)) / 86_400_000;
    if (days >= rules.fullAfterDays)
      return `the chain's full backup ${chain[0]!.id} is ${Math.floor(days)} days old (full_after_days = ${rules.fullAfterDays})`;
  }
  return undefined;
}
