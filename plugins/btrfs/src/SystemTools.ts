import { spawnSync } from 'node:child_process';
import { ErrorCode, RastError } from '@rast-backup/core';
import { makeSocketFile } from '@rast-backup/plugin-directory';
import { toolMissing } from './BtrfsCommand.js';

/** What Node cannot do by itself, done by the standard tools (util-linux, coreutils), synchronously. */
function run(command: string, args: string[], options: { cwd?: string; stdin?: number } = {}): void {
  const result = spawnSync(command, args, { cwd: options.cwd, stdio: [options.stdin ?? 'ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (result.error) throw (result.error as NodeJS.ErrnoException).code === 'ENOENT' ? toolMissing(command) : result.error;
  if (result.status !== 0) throw new RastError(ErrorCode.RESTORE_INCOMPLETE, `${command} ${args.join(' ')}: ${result.stderr.trim() || `exit ${result.status}`}`);
}

/** fallocate(2) on an open file (passed as the tool's stdin, so that no path is resolved again). */
export function fallocate(fd: number, flags: string[], offset: number, length: number): void {
  run('fallocate', [...flags, '--offset', String(offset), '--length', String(length), '/dev/stdin'], { stdin: fd });
}

/** Creates a FIFO, device node or socket named `name` (plain ASCII) in `directory`, mode 0600. */
export function makeSpecial(directory: string, name: string, kind: 'fifo' | 'socket' | 'char-device' | 'block-device', major = 0, minor = 0): void {
  if (kind === 'fifo') return run('mkfifo', ['-m', '600', name], { cwd: directory });
  if (kind === 'socket') return makeSocketFile(directory, name);
  run('mknod', ['-m', '600', name, kind === 'char-device' ? 'c' : 'b', String(major), String(minor)], { cwd: directory });
}
