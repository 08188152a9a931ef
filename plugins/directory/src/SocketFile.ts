import { spawnSync } from 'node:child_process';

/**
 * Creates a Unix socket file `name` in `directory`, mode 0600, as nothing listens on it (a restored socket is
 * only a name until its program binds it anew). Node removes a socket file when its server closes, and
 * sun_path is short: a child process binds a relative name beside it, keeps a second link, and closes.
 */
export function makeSocketFile(directory: string, name: string): void {
  const script = "const fs=require('fs'),n=process.argv[1];const s=require('net').createServer().listen(n+'.0',()=>{fs.linkSync(n+'.0',n);fs.chmodSync(n,0o600);s.close()})";
  const result = spawnSync(process.execPath, ['-e', script, name], { cwd: directory, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`creating socket ${name} in ${directory}: ${result.stderr.trim().split('\n')[0]}`);
}
