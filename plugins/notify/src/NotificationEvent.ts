import { hostname } from 'node:os';
import { isRastError, type OperationEvent } from '@rast-backup/core';

/** What every notifier receives: one JSON document (docs/notifications.md). */
export interface NotificationEvent {
  /** `create.succeeded`, `verify.failed`, `prune.succeeded`, `unit.failed`, `test.succeeded`, … */
  event: string;
  operation: string;
  outcome: 'succeeded' | 'failed';
  host: string;
  backup: {
    id: string | null;
    name: string | null;
    tags: string[];
    parent: string | null;
    size: number | null;
    storedSize: number | null;
  } | null;
  /** Source path (create) or destination (restore). */
  path: string | null;
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  error: { code: string | null; message: string } | null;
  /** A short summary of the result: verify's damage, prune's removals. */
  details: Record<string, unknown>;
}

type Loose = Record<string, unknown> | undefined;

/** Facts of an operation's outcome, whatever the operation (results are read structurally). */
export function notificationOf(
  operation: OperationEvent,
  outcome: 'succeeded' | 'failed',
  result: unknown,
  error?: Error,
): NotificationEvent {
  const finished = new Date();
  const value = (isRastError(error) ? (error.facts.report as Loose) : undefined) ?? (result as Loose);
  const manifest = operation.operation === 'create' && value && typeof value.id === 'string' ? value : undefined;
  const details: Record<string, unknown> = {};
  if (operation.operation === 'verify' && value) {
    for (const key of ['ok', 'status', 'level', 'damaged', 'affected', 'unchecked', 'dependents'])
      if (key in value) details[key] = value[key];
    if (Array.isArray(value.backups)) details.backups = value.backups.length;
  }
  if (operation.operation === 'prune' && value) {
    if (Array.isArray(value.removed)) details.removed = value.removed;
    if (Array.isArray(value.backups)) details.kept = value.backups.filter((backup: { keep?: boolean }) => backup.keep).length;
    for (const key of ['freedBytes', 'dryRun']) if (key in value) details[key] = value[key];
  }
  const id = (manifest?.id as string | undefined) ?? operation.backupId ?? null;
  return {
    event: `${operation.operation}.${outcome}`,
    operation: operation.operation,
    outcome,
    host: hostname(),
    backup:
      id === null && operation.name === undefined
        ? null
        : {
            id,
            name: (manifest?.name as string | null | undefined) ?? operation.name ?? null,
            tags: (manifest?.tags as string[] | undefined) ?? operation.tags ?? [],
            parent: (manifest?.parent as string | null | undefined) ?? null,
            size: (manifest?.size as number | undefined) ?? null,
            storedSize: (manifest?.storedSize as number | undefined) ?? null,
          },
    path: operation.path ?? null,
    startedAt: operation.startedAt.toISOString(),
    finishedAt: finished.toISOString(),
    durationSeconds: (finished.getTime() - operation.startedAt.getTime()) / 1000,
    error: error ? { code: isRastError(error) ? error.code : null, message: error.message } : null,
    details,
  };
}
