import type { ManifestHead } from './ManifestHead.js';
import path from 'node:path';
import { parsePointInTime } from './PointInTime.js';
import { emptyArgument, emptyPeriod } from './diagnostics/index.js';

/** The filters as given on the command line (`list --tag T --host H --source PATH --since WHEN --until WHEN`). */
export interface BackupFilterOptions {
  tags?: string[];
  hosts?: string[];
  /** Source paths, resolved against the current directory. */
  sources?: string[];
  since?: string;
  until?: string;
  /** The present moment, for ages such as `7d` (tests set it). */
  now?: Date;
}

/** Which backups to keep: each option given must hold (a backup carrying any of its values), all options at once. */
export interface BackupFilter {
  /** Whether any option was given. */
  active: boolean;
  /** The options given, as written (`--tag daily --since 7d`), for messages. */
  description: string;
  matches(manifest: ManifestHead): boolean;
}

/** Checks the values (an empty one, an unknown date, `--since` after `--until` are USAGE errors naming the option) and builds the filter. */
export function backupFilter(options: BackupFilterOptions): BackupFilter {
  const now = options.now ?? new Date();
  const described: string[] = [];
  const values = (option: string, given: string[] | undefined) => {
    for (const value of given ?? []) {
      if (value.trim() === '') throw emptyArgument(option, value, `leave ${option} out to list every backup`, { option, value });
      described.push(`${option} ${value}`);
    }
    return given && given.length > 0 ? new Set(given) : undefined;
  };
  const tags = values('--tag', options.tags);
  const hosts = values('--host', options.hosts);
  const sources = values(
    '--source',
    options.sources?.map((source) => (source.trim() === '' ? source : path.resolve(source))),
  );
  const moment = (option: string, value: string | undefined, edge: 'start' | 'end') => {
    if (value === undefined) return undefined;
    described.push(`${option} ${value}`);
    return parsePointInTime(value, option, edge, now);
  };
  const since = moment('--since', options.since, 'start');
  const until = moment('--until', options.until, 'end');
  if (since && until && since > until) throw emptyPeriod({ value: options.since!, at: since }, { value: options.until!, at: until });
  return {
    active: described.length > 0,
    description: described.join(' '),
    matches(manifest) {
      if (tags && !manifest.tags.some((tag) => tags.has(tag))) return false;
      if (hosts && !hosts.has(manifest.host)) return false;
      if (sources && !sources.has(manifest.source.path)) return false;
      const created = Date.parse(manifest.created);
      if (since && created < since.getTime()) return false;
      if (until && created > until.getTime()) return false;
      return true;
    },
  };
}
