import { spawnSync } from 'node:child_process';
import { ErrorCode, RastError } from '@rast-backup/core';
import { toolMissing } from './BtrfsCommand.js';

/** What Node cannot do by itself, done by util-linux, synchronously. */
function run(command: string, args: string[], stdin: number): void {
  const result = spawnSync(command, args, { stdio: [stdin, 'ignore', 'pipe'], encoding: 'utf8' });
  if (result.error) throw (result.error as NodeJS.ErrnoException).code === 'ENOENT' ? toolMissing(command) : result.error;
  if (result.status !== 0)
    throw new RastError(ErrorCode.RESTORE_INCOMPLETE, `${command} ${args.join(' ')}: ${result.stderr.trim() || `exit ${result.status}`}`);
}

/** fallocate(2) on an open file (passed as the tool's stdin, so that no path is resolved again). */
export function fallocate(fd: number, flags: string[], offset: number, length: number): void {
  run('fallocate', [...flags, '--offset', String(offset), '--length', String(length), '/dev/stdin'], fd);
}
