/** Helpers for this plugin's tests: real key files, real repositories, the real CLI and a throw-away GnuPG home. */
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRuntime, type Runtime } from '@rast-backup/core';
import { silentLogger, temporaryDirectory } from '@rast-backup/core/testing';
import directory from '@rast-backup/plugin-directory';
import local from '@rast-backup/plugin-local';
import zstd from '@rast-backup/plugin-zstd';
import openpgp, { signing } from './index.js';
import { generateKeyFiles } from './KeyGenerator.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const BINARY = path.join(ROOT, 'node_modules', '.bin', 'rast-backup');
export const hasGpg = spawnSync('gpg', ['--version']).status === 0;
/** Written into the source (contents and a file name); must never appear in a stored byte of an encrypted backup. */
export const MARKER = 'PLAINTEXT-MARKER-7f3a9c21';

export interface Result {
  status: number | null;
  /** The signal that ended it (a test's fault plugin kills it), or null. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function cli(args: string[], options: SpawnSyncOptions = {}): Result {
  const result = spawnSync(BINARY, args, { encoding: 'utf8', ...options, env: { ...process.env, RAST_BACKUP_CONFIG: '', ...options.env } });
  return { status: result.status, signal: result.signal, stdout: String(result.stdout), stderr: String(result.stderr) };
}

export async function keyPair(directoryPath: string, name = 'backup.key', passphrase?: string) {
  await mkdir(directoryPath, { recursive: true });
  return generateKeyFiles(path.join(directoryPath, name), 'rast-backup test', passphrase);
}

/** A source tree with the marker, a repository, and a config with `encryption` as the `[encryption]` table's body. */
export async function fixture(encryption?: string) {
  const home = await temporaryDirectory('rast-openpgp-');
  const repository = path.join(home, 'repository');
  const source = path.join(home, 'source');
  await mkdir(path.join(source, 'sub'), { recursive: true });
  await writeFile(path.join(source, 'marked.txt'), `${MARKER}\n`.repeat(200));
  await writeFile(path.join(source, `${MARKER}.name`), 'x');
  await writeFile(path.join(source, 'sub', 'random.bin'), randomBytes(2_500_000));
  await writeFile(path.join(source, 'sub', 'small'), 'small\n');
  const config = path.join(home, 'config.toml');
  await writeConfig(config, repository, encryption);
  return { home, repository, source, config };
}

export async function writeConfig(config: string, repository: string, encryption?: string): Promise<void> {
  const table = encryption === undefined ? '' : `\n[encryption]\n${encryption}\n`;
  await writeFile(config, `[storage]\nlocal.path = ${JSON.stringify(repository)}\n\n[backup]\npart_size_mib = 1\n${table}`);
}

export function runtime(configFile: string): Promise<Runtime> {
  return createRuntime({ configFile, defaultPresets: [local, directory, zstd, openpgp, signing], resolveFrom: [], log: silentLogger() });
}

/** Every file below `root`, recursively, with its bytes. */
export async function storedFiles(root: string): Promise<Array<{ file: string; bytes: Buffer }>> {
  const files: Array<{ file: string; bytes: Buffer }> = [];
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) {
      const file = path.join(entry.parentPath, entry.name);
      files.push({ file, bytes: await readFile(file) });
    }
  }
  return files;
}

/** A throw-away GnuPG home; `close()` stops its agent. */
export async function gnupg() {
  const home = await temporaryDirectory('rast-gnupg-');
  const env = { ...process.env, GNUPGHOME: home };
  return {
    home,
    env,
    run(args: string[], input?: Buffer | string) {
      const result = spawnSync('gpg', ['--batch', ...args], { env, input, maxBuffer: 1 << 30 });
      return { status: result.status, stdout: result.stdout, stderr: String(result.stderr) };
    },
    close() {
      spawnSync('gpgconf', ['--kill', 'gpg-agent'], { env });
    },
  };
}
