import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isRoot, temporaryDirectory } from '@rast-backup/core/testing';
import * as assert from 'uvu/assert';

export const BINARY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'node_modules', '.bin', 'rast-backup');

export interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

export const btrfsAvailable =
  isRoot && spawnSync('mkfs.btrfs', ['--version']).status === 0 && spawnSync('btrfs', ['--version']).status === 0;
export const btrfsNeeds = 'root and btrfs-progs (a loop-mounted btrfs image)';

function sh(command: string, args: string[]): void {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr}`);
}

/** A local repository, its config and a state directory of its own, run through the real binary. */
export class CliFixture {
  private constructor(
    readonly home: string,
    readonly repository: string,
    readonly config: string,
  ) {}

  static async create(extra = ''): Promise<CliFixture> {
    const home = await temporaryDirectory();
    const repository = path.join(home, 'repository');
    const config = path.join(home, 'config.toml');
    await writeFile(config, `[storage]\nlocal.path = ${JSON.stringify(repository)}\n\n[backup]\npart_size_mib = 1\n${extra}`, {
      mode: 0o600,
    });
    return new CliFixture(home, repository, config);
  }

  /** Another config file for the same local repository (`extra` appended). */
  async otherConfig(name: string, extra = ''): Promise<string> {
    const file = path.join(this.home, `${name}.toml`);
    await writeFile(file, `[storage]\nlocal.path = ${JSON.stringify(this.repository)}\n\n[backup]\npart_size_mib = 1\n${extra}`, {
      mode: 0o600,
    });
    return file;
  }

  /** Runs the binary with this fixture's config (or `config`). */
  cli(args: string[], options: SpawnSyncOptions = {}, config = this.config): Result {
    const result = spawnSync(BINARY, [...args, '--config', config], {
      encoding: 'utf8',
      env: { ...process.env, RAST_BACKUP_CONFIG: '', RAST_BACKUP_STATE_DIR: path.join(this.home, 'state') },
      ...options,
    });
    return { status: result.status, stdout: String(result.stdout), stderr: String(result.stderr) };
  }

  /** Runs the binary with `--json` and parses what it printed; fails the test on a non-zero exit. */
  json<T = any>(args: string[], options: SpawnSyncOptions = {}, config = this.config): T {
    const result = this.cli([...args, '--json'], options, config);
    assert.is(result.status, 0, `rast-backup ${args.join(' ')}: exit ${result.status}: ${result.stderr}`);
    return JSON.parse(result.stdout) as T;
  }

  /** A directory with a few files, to back up. */
  async directory(name: string, files: Record<string, string> = { file: `${name}\n` }): Promise<string> {
    const source = path.join(this.home, name);
    await mkdir(source, { recursive: true });
    for (const [file, content] of Object.entries(files)) await writeFile(path.join(source, file), content);
    return source;
  }

  /** A subvolume `data` on a fresh loop-mounted btrfs (root only), unmounted when the process exits. */
  async subvolume(files: Record<string, string> = { file: 'on btrfs\n' }): Promise<string> {
    const image = path.join(this.home, 'btrfs.img');
    const mountPoint = path.join(this.home, 'btrfs');
    await mkdir(mountPoint);
    sh('truncate', ['-s', '300M', image]);
    sh('mkfs.btrfs', ['-q', '-f', image]);
    sh('mount', ['-o', 'loop', image, mountPoint]);
    const source = path.join(mountPoint, 'data');
    sh('btrfs', ['subvolume', 'create', source]);
    for (const [file, content] of Object.entries(files)) await writeFile(path.join(source, file), content);
    return source;
  }

  /**
   * Changes a committed manifest in the local repository, as a manifest written elsewhere or earlier would read
   * (another `host`, an older `created`); this host's copies of the manifests are dropped, so that the catalog reads it again.
   */
  async rewriteManifest(id: string, change: Record<string, unknown>): Promise<void> {
    const file = path.join(this.repository, 'backups', `${id}.json`);
    const manifest = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    await writeFile(file, `${JSON.stringify({ ...manifest, ...change }, null, 2)}\n`);
    await rm(path.join(this.home, 'state', 'manifests'), { recursive: true, force: true });
  }
}
