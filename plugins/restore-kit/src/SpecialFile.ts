import { spawnSync } from 'node:child_process';
import { toolFailed, toolMissing } from '@rast-backup/core';

export type SpecialKind = 'fifo' | 'socket' | 'char-device' | 'block-device';

/** Runs a coreutils tool (or node itself) in `directory`, where a name needs no path of its own. */
function run(command: string, args: string[], directory: string): void {
  const result = spawnSync(command, args, { cwd: directory, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if ((result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw toolMissing(command, 'coreutils');
  }
  if (result.error) throw result.error;
  if (result.status !== 0) throw toolFailed(command, args, directory, result.stderr.trim().split('\n')[0] ?? '', result.status);
}

/**
 * Creates a FIFO, device node or socket named `name` (plain text) in `directory`, mode 0600: what Node cannot
 * make by itself. A socket is only a name until its program binds it anew; Node removes a socket file when its
 * server closes, and sun_path is short, so a child process binds a relative name beside it, keeps a second
 * link, and closes.
 */
export function makeSpecialFile(directory: string, name: string, kind: SpecialKind, major = 0, minor = 0): void {
  if (kind === 'fifo') return run('mkfifo', ['-m', '600', name], directory);
  if (kind === 'socket') {
    const script =
      "const fs=require('fs'),n=process.argv[1];const s=require('net').createServer().listen(n+'.0',()=>{fs.linkSync(n+'.0',n);fs.chmodSync(n,0o600);s.close()})";
    return run(process.execPath, ['-e', script, name], directory);
  }
  run('mknod', ['-m', '600', name, kind === 'char-device' ? 'c' : 'b', String(major), String(minor)], directory);
}
