import { spawn } from 'node:child_process';
import type { NotificationEvent } from './NotificationEvent.js';

/** One destination of notifications. */
export interface Notifier {
  /** For messages: `webhook https://…`, `command /usr/local/bin/x`. */
  readonly label: string;
  /** Outcomes it wants. */
  readonly on: ReadonlySet<'success' | 'failure'>;
  send(event: NotificationEvent): Promise<void>;
}

const sleep = (seconds: number) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

export interface WebhookOptions {
  url: string;
  on: ReadonlySet<'success' | 'failure'>;
  timeoutSeconds: number;
  retries: number;
  retryDelaySeconds: number;
  headers: Record<string, string>;
}

/** HTTP POST of the event as JSON; retries network errors, timeouts, 429 and 5xx with a doubling delay. */
export class WebhookNotifier implements Notifier {
  readonly label: string;
  readonly on: ReadonlySet<'success' | 'failure'>;

  constructor(private readonly options: WebhookOptions) {
    this.label = `webhook ${new URL(options.url).origin}${new URL(options.url).pathname}`;
    this.on = options.on;
  }

  async send(event: NotificationEvent): Promise<void> {
    const body = JSON.stringify(event);
    let problem = '';
    let attempts = 0;
    for (let attempt = 0; attempt <= this.options.retries; attempt++) {
      attempts = attempt + 1;
      if (attempt > 0) await sleep(this.options.retryDelaySeconds * 2 ** (attempt - 1));
      try {
        const response = await fetch(this.options.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'rast-backup', ...this.options.headers },
          body,
          signal: AbortSignal.timeout(this.options.timeoutSeconds * 1000),
        });
        await response.arrayBuffer().catch(() => undefined);
        if (response.ok) return;
        problem = `HTTP ${response.status} ${response.statusText}`.trim();
        if (response.status !== 429 && response.status < 500) break;
      } catch (error) {
        const cause = (error as Error & { cause?: Error }).cause;
        problem =
          (error as Error).name === 'TimeoutError'
            ? `no answer within ${this.options.timeoutSeconds} s`
            : `${(error as Error).message}${cause ? ` (${cause.message})` : ''}`;
      }
    }
    throw new Error(`${this.label}: ${problem}${attempts > 1 ? ` (after ${attempts} attempts)` : ''}`);
  }
}

export interface CommandOptions {
  command: string[];
  on: ReadonlySet<'success' | 'failure'>;
  timeoutSeconds: number;
}

/** Runs a program (no shell) with the event in RAST_BACKUP_* variables and as JSON on stdin. */
export class CommandNotifier implements Notifier {
  readonly label: string;
  readonly on: ReadonlySet<'success' | 'failure'>;

  constructor(private readonly options: CommandOptions) {
    this.label = `command ${options.command[0]}`;
    this.on = options.on;
  }

  send(event: NotificationEvent): Promise<void> {
    const [program, ...args] = this.options.command;
    const environment = {
      ...process.env,
      RAST_BACKUP_EVENT: event.event,
      RAST_BACKUP_OPERATION: event.operation,
      RAST_BACKUP_OUTCOME: event.outcome,
      RAST_BACKUP_HOST: event.host,
      RAST_BACKUP_BACKUP_ID: event.backup?.id ?? '',
      RAST_BACKUP_BACKUP_NAME: event.backup?.name ?? '',
      RAST_BACKUP_ERROR: event.error?.message ?? '',
      RAST_BACKUP_DURATION_SECONDS: String(event.durationSeconds),
    };
    return new Promise((resolve, reject) => {
      const child = spawn(program!, args, {
        env: environment,
        stdio: ['pipe', 'ignore', 'pipe'],
        timeout: this.options.timeoutSeconds * 1000,
        killSignal: 'SIGKILL',
      });
      let stderr = '';
      child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-2000)));
      child.stdin.on('error', () => {}); // a program that does not read stdin is fine
      child.stdin.end(`${JSON.stringify(event)}\n`);
      child.on('error', (error: NodeJS.ErrnoException) =>
        reject(new Error(`${this.label}: ${error.code === 'ENOENT' ? 'not found' : error.message}`)),
      );
      child.on('close', (code, signal) => {
        if (code === 0) return resolve();
        const why = signal
          ? signal === 'SIGKILL'
            ? `killed after ${this.options.timeoutSeconds} s`
            : `killed by ${signal}`
          : `exit ${code}`;
        const said = stderr.trim().split('\n').at(-1);
        reject(new Error(`${this.label}: ${why}${said ? `: ${said}` : ''}`));
      });
    });
  }
}

/** Sends to every notifier that wants this outcome; throws one error naming every one that failed. */
export async function notifyAll(notifiers: Notifier[], event: NotificationEvent, force = false): Promise<void> {
  const wanted = notifiers.filter((notifier) => force || notifier.on.has(event.outcome === 'succeeded' ? 'success' : 'failure'));
  const results = await Promise.allSettled(wanted.map((notifier) => notifier.send(event)));
  const failed = results.flatMap((result) => (result.status === 'rejected' ? [(result.reason as Error).message] : []));
  if (failed.length > 0) throw new Error(`notification ${event.event} not delivered: ${failed.join('; ')}`);
}
