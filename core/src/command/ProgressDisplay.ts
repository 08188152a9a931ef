import cliProgress from 'cli-progress';
import { Option, UsageError } from 'clipanion';
import prettyBytes from 'pretty-bytes';
import * as t from 'typanion';
import { displayPath } from '../IndexPath.js';
import type { Pipeline } from '../Pipeline.js';
import type { ProgressEvent } from '../Progress.js';

export type ProgressMode = 'auto' | 'plain' | 'none';

/** Seconds between two lines of `--progress=plain`, unless RAST_BACKUP_PROGRESS_INTERVAL says otherwise. */
const PLAIN_INTERVAL_SECONDS = 5;
/** At most this often is the bar given a new value: its ETA is the rate over its last ETA_UPDATES values. */
const UPDATE_MS = 250;
const ETA_UPDATES = 40;
const LABEL_WIDTH = 40;

/** The `--progress` option of a command whose operation reports progress (create, restore, verify, prune, …). */
export const progressOption = () =>
  Option.String('--progress', 'auto', {
    description:
      'auto: a bar on stderr when it is a terminal and --json is not given; plain: one line every 5 seconds (RAST_BACKUP_PROGRESS_INTERVAL), for logs and journals; none',
    validator: t.isEnum(['auto', 'plain', 'none'] as const),
  });

export interface ProgressDisplayOptions {
  mode: ProgressMode;
  json: boolean;
  stream: NodeJS.WritableStream & { isTTY?: boolean };
}

/**
 * Runs `work`, showing the pipeline's `progress` events on `stream` meanwhile (bytes done of the total, %, rate
 * and ETA; `~` before an estimated total): a bar redrawn in place (mode auto, on a terminal, without --json), or
 * one line every few seconds (mode plain). Nothing else in any other case: the `progress` hook is then not
 * tapped, and operations skip what only a display needs (create's estimate).
 */
export async function withProgress<T>(pipeline: Pipeline, options: ProgressDisplayOptions, work: () => Promise<T>): Promise<T> {
  const plain = options.mode === 'plain';
  if (options.mode === 'none' || (options.mode === 'auto' && (!options.stream.isTTY || options.json))) return work();
  const display = new ProgressDisplay(options.stream, plain ? plainIntervalSeconds() : undefined);
  // Hooks cannot be untapped: the tap stays, and shows nothing once the work is done.
  let showing = true;
  pipeline.hooks.progress.tap('rast-backup-progress-display', (event) => {
    if (!showing) return;
    try {
      display.show(event);
    } catch {
      // A display that fails must not fail the operation it shows: it stops.
      showing = false;
    }
  });
  try {
    return await work();
  } finally {
    showing = false;
    display.stop();
  }
}

function plainIntervalSeconds(): number {
  const given = process.env.RAST_BACKUP_PROGRESS_INTERVAL;
  if (given === undefined || given === '') return PLAIN_INTERVAL_SECONDS;
  const seconds = Number(given);
  if (!(seconds > 0)) throw new UsageError(`RAST_BACKUP_PROGRESS_INTERVAL=${given}: expected a number of seconds above 0`);
  return seconds;
}

const formatBytes = (bytes: number) => prettyBytes(bytes, { binary: true, maximumFractionDigits: 1 });

interface Payload {
  label: string;
  /** When the operation began (the display, for the first): the rate is the bytes done since. */
  since: number;
  estimated: boolean;
  /** `known`: done of the total; `passed`: done, past an estimate that was short; `unknown`: done only. */
  total: 'known' | 'passed' | 'unknown';
}

/** One bar at a time, restarted when another operation (or subject) reports. */
class ProgressDisplay {
  private bar: cliProgress.SingleBar | undefined;
  private current: string | undefined;
  private latest: ProgressEvent | undefined;
  private forwarded = 0;
  /** When the display began: the first operation's bars count their rate from there, not from their first event. */
  private since = Date.now();

  constructor(
    private readonly stream: ProgressDisplayOptions['stream'],
    /** Set for plain lines; undefined for a bar on a terminal. */
    private readonly intervalSeconds: number | undefined,
  ) {}

  show(event: ProgressEvent): void {
    const key = `${event.operation} ${event.subject}`;
    if (key !== this.current) {
      if (this.current !== undefined) this.since = Date.now();
      this.stop();
      this.current = key;
      this.bar = this.start(event);
    }
    const totalChanged = this.latest?.total !== event.total || this.latest?.estimated !== event.estimated;
    this.latest = event;
    if (totalChanged || Date.now() - this.forwarded >= UPDATE_MS) this.forward();
  }

  stop(): void {
    if (!this.bar) return;
    this.forward();
    this.bar.stop();
    this.bar = undefined;
    this.current = undefined;
    this.latest = undefined;
  }

  private start(event: ProgressEvent): cliProgress.SingleBar {
    const plain = this.intervalSeconds !== undefined;
    const bar = new cliProgress.SingleBar({
      // Plain: cli-progress writes a line each notTTYSchedule on a stream that is no terminal; this one says it is none.
      stream: plain ? nonTerminal(this.stream) : this.stream,
      noTTYOutput: plain,
      notTTYSchedule: (this.intervalSeconds ?? 0) * 1000,
      fps: 5,
      etaBuffer: ETA_UPDATES,
      etaAsynchronousUpdate: true,
      clearOnComplete: true,
      hideCursor: false,
      linewrap: false,
      barsize: 20,
      barCompleteChar: '█',
      barIncompleteChar: '░',
      format: plain ? plainLine : barLine,
    });
    const label = `${event.operation} ${shorten(event.subject)}`;
    bar.start(event.total ?? 0, event.done, {
      label,
      since: this.since,
      estimated: event.estimated,
      total: event.total === null ? 'unknown' : 'known',
    } satisfies Payload);
    return bar;
  }

  private forward(): void {
    const event = this.latest;
    if (!this.bar || !event) return;
    this.forwarded = Date.now();
    // A total passed (an estimate that was short) gives no percentage or ETA: bytes and rate, and the estimate passed.
    const total = event.total === null ? 'unknown' : event.done <= event.total ? 'known' : 'passed';
    if (event.total !== null) this.bar.setTotal(event.total);
    this.bar.update(event.done, { estimated: event.estimated, total } satisfies Partial<Payload>);
  }
}

type Formatter = (options: cliProgress.Options, params: cliProgress.Params, payload: Payload) => string;

/** The parts both displays show: done (of total), percentage, rate, ETA. */
function figures(options: cliProgress.Options, params: cliProgress.Params, payload: Payload) {
  const seconds = Math.max(((params.stopTime ?? Date.now()) - payload.since) / 1000, 0.001);
  const rate = `${formatBytes(params.value / seconds)}/s`;
  const approximately = payload.estimated ? '~' : '';
  const secondsLeft = params.value >= params.total ? 0 : params.eta;
  const eta =
    typeof secondsLeft === 'number' && Number.isFinite(secondsLeft)
      ? `${approximately}${cliProgress.Format.TimeFormat(secondsLeft, options, 5)}`
      : '?';
  return {
    done: formatBytes(params.value),
    total: `${approximately}${formatBytes(params.total)}`,
    percent: `${approximately}${Math.floor(params.progress * 100)}%`,
    rate,
    eta,
  };
}

const barLine: Formatter = (options, params, payload) => {
  const { done, total, percent, rate, eta } = figures(options, params, payload);
  if (payload.total === 'unknown') return `${payload.label}  ${done} | ${rate}`;
  if (payload.total === 'passed') return `${payload.label}  ${done}, past ${total} | ${rate}`;
  const bar = cliProgress.Format.BarFormat(params.progress, options);
  return `${payload.label}  ${bar} ${percent} | ${done} of ${total} | ${rate} | ETA ${eta}`;
};

const plainLine: Formatter = (options, params, payload) => {
  const { done, total, percent, rate, eta } = figures(options, params, payload);
  const of =
    payload.total === 'known'
      ? `${done} of ${total} (${percent}), ${rate}, ETA ${eta}`
      : payload.total === 'passed'
        ? `${done}, past ${total}, ${rate}`
        : `${done}, ${rate}`;
  return `rast-backup: progress: ${payload.label}: ${of}`;
};

/** A long subject (a path) keeps its end, which names it best; what would drive the terminal is escaped. */
function shorten(subject: string): string {
  const shown = displayPath(subject);
  return shown.length <= LABEL_WIDTH ? shown : `…${shown.slice(-(LABEL_WIDTH - 1))}`;
}

/** `stream` as a writer that is no terminal (no cursor moves), for plain lines on a terminal too. */
function nonTerminal(stream: NodeJS.WritableStream): NodeJS.WritableStream {
  return { isTTY: false, write: (chunk: string) => stream.write(chunk) } as unknown as NodeJS.WritableStream;
}
