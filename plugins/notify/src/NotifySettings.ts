import * as t from 'typanion';

const outcomes = () => t.isOptional(t.isArray(t.isEnum(['success', 'failure'] as const)));
const seconds = () => t.isOptional(t.cascade(t.isNumber(), [t.isAtLeast(0.001)]));

/** `[notify]`: the TOML keys and their validators. */
export const NOTIFY_OPTIONS = {
  /** Which outcomes are sent, for every notifier without its own `on`: `["failure"]` (default), `["success", "failure"]`. */
  on: outcomes(),
  /** Operations that send events (default create, verify, prune). */
  operations: t.isOptional(t.isArray(t.isEnum(['create', 'verify', 'prune', 'restore', 'delete', 'sync', 'copy'] as const))),
  /** `[[notify.webhook]]`: HTTP POST of the event as JSON. */
  webhook: t.isOptional(
    t.isArray(
      t.isObject({
        url: t.cascade(t.isString(), [t.matchesRegExp(/^https?:\/\//)]),
        on: outcomes(),
        /** Per attempt; default 10. */
        timeout_seconds: seconds(),
        /** Further attempts after a failed one (network error, HTTP 429 or 5xx); default 3. */
        retries: t.isOptional(t.cascade(t.isNumber(), [t.isInteger(), t.isInInclusiveRange(0, 10)])),
        /** Wait before the first retry, doubled for each next one; default 2. */
        retry_delay_seconds: t.isOptional(t.cascade(t.isNumber(), [t.isAtLeast(0)])),
        /** Extra request headers (e.g. Authorization). */
        headers: t.isOptional(t.isRecord(t.isString())),
      }),
    ),
  ),
  /** `[[notify.command]]`: runs a program with the event in its environment and as JSON on stdin. */
  command: t.isOptional(
    t.isArray(
      t.isObject({
        /** Program and arguments; no shell. */
        command: t.cascade(t.isArray(t.isString()), [t.hasMinLength(1)]),
        on: outcomes(),
        /** Killed after this long; default 60. */
        timeout_seconds: seconds(),
      }),
    ),
  ),
};

export type NotifyOptions = { [K in keyof typeof NOTIFY_OPTIONS]: t.InferType<(typeof NOTIFY_OPTIONS)[K]> };
