import { spawn, spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isRoot, temporaryDirectory } from '@rast-backup/core/testing';

/** The real CLI binary, as installed by `npm ci`. */
export const BINARY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'node_modules', '.bin', 'rast-backup');

export const hasBtrfs = spawnSync('mkfs.btrfs', ['--version']).status === 0 && spawnSync('btrfs', ['--version']).status === 0;
export const canLoopMount = isRoot && hasBtrfs;
export const canMountExt4 = isRoot && spawnSync('mkfs.ext4', ['-V']).status === 0;

export interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion without blocking the event loop, so that independent runs can overlap. */
export function cliAsync(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(BINARY, args, {
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, RAST_BACKUP_CONFIG: '', ...options.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      stderr += `\n[killed after ${options.timeoutMs} ms: hung]`;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** Runs `task` over `items`, at most `limit` at a time, keeping the order of the results. */
export async function mapLimited<T, R>(items: T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export function sh(command: string, args: string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

/** A loop-mounted filesystem of `size` (e.g. "300M") made with `mkfs.<type>`, unmounted when the process exits. Needs root. */
export async function loopFilesystem(
  type: 'btrfs' | 'ext4',
  size: string,
  prefix = 'rast-suite-',
): Promise<{ home: string; mountPoint: string }> {
  const home = await temporaryDirectory(prefix);
  const image = path.join(home, `${type}.img`);
  const mountPoint = path.join(home, 'mnt');
  await mkdir(mountPoint);
  sh('truncate', ['-s', size, image]);
  sh(`mkfs.${type}`, type === 'btrfs' ? ['-q', '-f', image] : ['-q', '-F', image]);
  sh('mount', ['-o', 'loop', image, mountPoint]);
  return { home, mountPoint };
}

/** Writes a config file, private as one holding S3 keys must be (else every command warns), and returns its path. */
export async function writeConfig(directory: string, text: string, name = 'config.toml'): Promise<string> {
  const file = path.join(directory, name);
  await writeFile(file, text, { mode: 0o600 });
  return file;
}
