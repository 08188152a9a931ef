import {
  configKeyInvalid,
  emptyArgument,
  optionInvalid,
  packageIdentity,
  pluginState,
  type Pipeline,
  type RastError,
} from '@rast-backup/core';
import * as t from 'typanion';
import type { ChainRules, RetentionRules } from './RetentionPolicy.js';

const count = () => t.isOptional(t.cascade(t.isNumber(), [t.isInteger(), t.isAtLeast(0)]));

/** `[retention]`: the TOML keys and their validators. */
export const RETENTION_OPTIONS = {
  /** Keep the N newest backups of each host and source. */
  last: count(),
  /** Keep the newest backup of each of the last N hours (days, ISO weeks, months, years) that have one. */
  hourly: count(),
  daily: count(),
  weekly: count(),
  monthly: count(),
  yearly: count(),
  /** Backups carrying any of these tags are never pruned. */
  keep_tags: t.isOptional(t.isArray(t.isString())),
  /** `create --parent latest` starts a new full backup once the chain holds this many backups (full + incrementals). */
  full_every: t.isOptional(t.cascade(t.isNumber(), [t.isInteger(), t.isAtLeast(1)])),
  /** `create --parent latest` starts a new full backup once the chain's full backup is this many days old. */
  full_after_days: t.isOptional(t.cascade(t.isNumber(), [t.isAtLeast(0)])),
  /** Prune after each successful create. */
  prune_after_create: t.isOptional(t.isBoolean()),
  /** Data of interrupted creates (parts without a manifest) is removed once it is this many hours old (default 48). */
  leftover_age_hours: t.isOptional(t.cascade(t.isNumber(), [t.isAtLeast(1)])),
};

export type RetentionOptions = { [K in keyof typeof RETENTION_OPTIONS]: t.InferType<(typeof RETENTION_OPTIONS)[K]> };

export interface RetentionSettings {
  rules: RetentionRules;
  chain: ChainRules;
  pruneAfterCreate: boolean;
  leftoverAgeHours: number;
  /** Where the settings came from, for messages (`/etc/rast/backup/config.toml`). */
  where: string;
  /** Whether `rules` are the config's or `prune --keep-*`'s. */
  rulesFrom: 'config' | 'command line';
}

export const DEFAULT_LEFTOVER_AGE_HOURS = 48;

export function normaliseSettings(options: RetentionOptions, where: string): RetentionSettings {
  return {
    rules: {
      last: options.last,
      hourly: options.hourly,
      daily: options.daily,
      weekly: options.weekly,
      monthly: options.monthly,
      yearly: options.yearly,
      keepTags: options.keep_tags,
    },
    chain: { fullEvery: options.full_every, fullAfterDays: options.full_after_days },
    pruneAfterCreate: options.prune_after_create ?? false,
    leftoverAgeHours: options.leftover_age_hours ?? DEFAULT_LEFTOVER_AGE_HOURS,
    where,
    rulesFrom: 'config',
  };
}

/** Whether the rules select anything by count; without one, prune would keep only the latest backups. */
export function hasCountingRule(rules: RetentionRules): boolean {
  return (['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const).some((rule) => (rules[rule] ?? 0) > 0);
}

const FLAGS: Record<Exclude<keyof RetentionRules, 'keepTags'>, string> = {
  last: '--keep-last',
  hourly: '--keep-hourly',
  daily: '--keep-daily',
  weekly: '--keep-weekly',
  monthly: '--keep-monthly',
  yearly: '--keep-yearly',
};

/**
 * The rules `prune --keep-*` gives (counts already checked as whole numbers ≥ 0), or undefined when none is
 * given: then the config's apply. They replace the config's rules as a whole, as restic's `forget` flags do.
 */
export function commandLineRules(flags: RetentionRules): RetentionRules | undefined {
  const given = (Object.keys(FLAGS) as Array<keyof typeof FLAGS>).filter((rule) => flags[rule] !== undefined);
  const tags = flags.keepTags ?? [];
  if (given.length === 0 && tags.length === 0) return undefined;
  const empty = tags.find((tag) => tag.trim() === '');
  if (empty !== undefined) throw emptyArgument('--keep-tag', empty, 'give the tag to keep', { option: '--keep-tag', value: empty });
  const rules: RetentionRules = {
    ...Object.fromEntries(given.map((rule) => [rule, flags[rule]])),
    keepTags: tags.length > 0 ? tags : undefined,
  };
  if (!hasCountingRule(rules)) {
    const written = [...given.map((rule) => `${FLAGS[rule]} ${flags[rule]}`), ...tags.map((tag) => `--keep-tag ${tag}`)].join(' ');
    throw optionInvalid(
      written,
      undefined,
      `does not say how many backups to keep, and replaces [retention] for this run; add one of ${Object.values(FLAGS).join(', ')} with a number above 0`,
      { option: given.length > 0 ? FLAGS[given[0]!] : '--keep-tag' },
    );
  }
  return rules;
}

/** The `[retention]` settings applied to each pipeline, for its taps and `prune`. */
export const retentionSettings = pluginState<RetentionSettings>(packageIdentity(import.meta.url).name);

/** The `[retention]` settings applied to this pipeline, or undefined when the plugin is not active. */
export function settingsOf(pipeline: Pipeline): RetentionSettings | undefined {
  return retentionSettings.get(pipeline);
}

/** Retention settings (`key`: the config key that needs it) with no rule that says how many backups to keep; `more` says where else one may come from. */
export function noCountingRule(settings: Pick<RetentionSettings, 'where'>, key: string, more: string): RastError {
  return configKeyInvalid(
    settings.where,
    key,
    `no rule says how many backups to keep: set at least one of last, hourly, daily, weekly, monthly, yearly${more}`,
  );
}
