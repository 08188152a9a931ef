import { constants } from 'node:os';

/**
 * Expected failures carry a stable code from this append-only list; the CLI prints the code and the
 * message, and a stack trace only for unexpected errors (or with --verbose). Never renumber or reuse.
 */
export enum ErrorCode {
  CONFIG_SYNTAX = 'RB001',
  CONFIG_INVALID = 'RB002',
  CONFIG_NOT_FOUND = 'RB003',
  PLUGIN_NOT_FOUND = 'RB004',
  PLUGIN_INVALID = 'RB005',
  PLUGIN_FAILED = 'RB006',
  USAGE = 'RB007',
  SOURCE_INVALID = 'RB008',
  DESTINATION_INVALID = 'RB009',
  BACKUP_NOT_FOUND = 'RB010',
  BACKUP_AMBIGUOUS = 'RB011',
  BACKUP_DEPENDED_ON = 'RB012',
  PART_MISSING = 'RB013',
  PART_DAMAGED = 'RB014',
  MANIFEST_DAMAGED = 'RB015',
  STREAM_DAMAGED = 'RB016',
  SINK_FAILED = 'RB017',
  TRANSFORM_FAILED = 'RB018',
  TOOL_MISSING = 'RB019',
  RESTORE_UNSAFE = 'RB020',
  RESTORE_INCOMPLETE = 'RB021',
  PARENT_INVALID = 'RB022',
  VERIFY_FAILED = 'RB023',
  LOCKED = 'RB024',
  INTERRUPTED = 'RB025',
  /** Verify found no damage but could not check everything asked for (a key or plugin this host lacks). */
  CANNOT_CHECK = 'RB026',
  /** A backup's manifest has no good signature by a trusted key (see docs/encryption.md): restore, verify, ls and info refuse it. */
  BACKUP_UNAUTHENTICATED = 'RB027',
  /** `repair` left damage it could not mend (no good copy anywhere, or an index it cannot rebuild); what it could, it did. */
  REPAIR_INCOMPLETE = 'RB028',
}

/** Codes that mean "the user asked for something malformed, or the config does not allow it": the CLI exits 2 for these. */
const USAGE_CODES = new Set<ErrorCode>([
  ErrorCode.CONFIG_SYNTAX,
  ErrorCode.CONFIG_INVALID,
  ErrorCode.CONFIG_NOT_FOUND,
  ErrorCode.PLUGIN_NOT_FOUND,
  ErrorCode.PLUGIN_INVALID,
  ErrorCode.USAGE,
  ErrorCode.CANNOT_CHECK,
]);

/** Marks a RastError whichever copy of core made it (the bundled CLI's, or that of a plugin the config names by package). */
const RAST_ERROR = Symbol.for('@rast-backup/core.RastError');

/** An expected failure: one message that says what, where and what to do. */
export class RastError extends Error {
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && RAST_ERROR in value;
  }

  readonly [RAST_ERROR] = true;
  readonly code: ErrorCode;
  /** Machine-readable facts (file, key, backup, part, sink). Not named `details`: test runners read that. */
  readonly facts: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, facts: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RastError';
    this.code = code;
    this.facts = facts;
  }

  /** 2 for usage and config errors; 128 + the signal's number for an operation interrupted by a signal (130 for SIGINT, 143 for SIGTERM); else 1. */
  get exitCode(): number {
    if (this.code === ErrorCode.INTERRUPTED) {
      const number = constants.signals[this.facts.signal as NodeJS.Signals];
      if (number) return 128 + number;
    }
    return USAGE_CODES.has(this.code) ? 2 : 1;
  }
}

export function isRastError(error: unknown): error is RastError {
  return error instanceof RastError;
}
