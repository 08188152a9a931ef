import { spawn } from 'node:child_process';
import { ErrorCode, RastError } from '@rast-backup/core';

/**
 * Runs the zstd command on one buffer. Each call makes one self-contained zstd frame (or decodes one),
 * so `zstd -d` alone can read every part. The CLI is the fastest zstd that installs on a fresh machine
 * (see docs/benchmarks.md); several parts are compressed at once, one process each.
 */
export function runZstd(args: string[], input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('zstd', ['-q', '-c', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const output: Buffer[] = [];
    const errors: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => errors.push(chunk));
    child.stdin.on('error', () => {});
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') reject(new RastError(ErrorCode.TOOL_MISSING, 'zstd is not installed: install the zstd package (apt-get install zstd), or set [compression] algorithm = "none"'));
      else reject(error);
    });
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(output));
      else reject(new Error(`zstd ${args.join(' ')} exited with ${code}: ${Buffer.concat(errors).toString().trim()}`));
    });
    child.stdin.end(input);
  });
}

export const compress = (data: Buffer, level: number) => runZstd([`-${level}`, '-T1', '--no-check'].concat(level > 19 ? ['--ultra'] : []), data);
export const decompress = (data: Buffer) => runZstd(['-d'], data);
