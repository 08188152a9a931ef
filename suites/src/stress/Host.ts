import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { waitFor } from '@rast-backup/core/testing';
import * as assert from 'uvu/assert';
import { BINARY, type Result } from '../support.js';

export { waitFor };

/**
 * One machine running rast-backup: its config file, its own state directory and, optionally, its own
 * host name (set in a private UTS namespace with `unshare --uts`, so manifests record it; needs root).
 */
export class Host {
  constructor(
    readonly config: string,
    readonly stateDirectory: string,
    readonly hostname?: string,
  ) {}

  static async make(home: string, config: string, hostname?: string): Promise<Host> {
    const state = path.join(home, `state-${hostname ?? 'host'}`);
    await mkdir(state, { recursive: true });
    return new Host(config, state, hostname);
  }

  /**
   * Starts the CLI with this host's config; the child is the CLI itself (so a SIGKILL hits it). With `ownGroup`
   * it leads its own process group, which `process.kill(-pid, …)` signals as a Ctrl-C at a terminal does.
   */
  start(args: string[], ownGroup = false): ChildProcess {
    const env = { ...process.env, RAST_BACKUP_CONFIG: '', RAST_BACKUP_STATE_DIR: this.stateDirectory };
    const full = [...args, '--config', this.config];
    const options: SpawnOptions = { stdio: ['ignore', 'pipe', 'pipe'], env, detached: ownGroup };
    if (!this.hostname) return spawn(BINARY, full, options);
    return spawn('unshare', ['--uts', 'sh', '-c', 'hostname "$0" && exec "$@"', this.hostname, BINARY, ...full], options);
  }

  run(args: string[]): Promise<Result> {
    return finished(this.start(args));
  }

  async json<T = any>(args: string[]): Promise<T> {
    const result = await this.run([...args, '--json']);
    assert.is(result.status, 0, `${args.join(' ')}: exit ${result.status}: ${result.stderr}`);
    return JSON.parse(result.stdout) as T;
  }

  /** Ids of the committed backups. */
  async listed(): Promise<string[]> {
    return (await this.json<Array<{ id: string }>>(['list'])).map((entry) => entry.id);
  }

  /** Leftovers of interrupted creates and deletes, as `list --all` shows them. */
  async incomplete(): Promise<Array<{ id: string; sinks: string[]; objects: number }>> {
    return (await this.json<Array<{ id: string; status: string; sinks: string[]; objects: number }>>(['list', '--all'])).filter(
      (entry) => entry.status === 'incomplete',
    );
  }

  /** Every listed backup verifies at full level. */
  async assertAllIntact(context: string): Promise<void> {
    const result = await this.run(['verify', '--all']);
    assert.is(result.status, 0, `${context}: verify --all: exit ${result.status}: ${result.stdout}${result.stderr}`);
  }
}

/** Waits for a child to exit and collects its output. */
export function finished(child: ChildProcess): Promise<Result & { signal: NodeJS.Signals | null }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk) => (stdout += chunk));
  child.stderr?.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}

/** Runs the CLI and kills it with SIGKILL after `delay` ms (if it is still running then). */
export async function killAfter(host: Host, args: string[], delay: number): Promise<{ killed: boolean; result: Result }> {
  const child = host.start(args);
  const done = finished(child);
  const timer = setTimeout(() => child.kill('SIGKILL'), delay);
  const result = await done;
  clearTimeout(timer);
  return { killed: result.signal === 'SIGKILL', result };
}

/** The UTC second encoded in a backup id, in ms. */
export function idTime(id: string): number {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-/.exec(id);
  if (!match) throw new Error(`not a backup id: ${id}`);
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [number, number, number, number, number, number];
  return Date.UTC(year, month - 1, day, hour, minute, second);
}

/** The same id, as if its create had started `hours` earlier (to age a leftover for prune). */
export function agedId(id: string, hours: number): string {
  const stamp = new Date(idTime(id) - hours * 3_600_000)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${id.split('-')[1]}`;
}
