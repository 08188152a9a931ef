import { spawn, type ChildProcess } from 'node:child_process';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { toolFailure, toolMissing } from './BtrfsCommand.js';

/** Collects a child's stderr and resolves with its exit code (a missing program becomes TOOL_MISSING). */
function watch(command: string, child: ChildProcess): { exited: Promise<number | null>; stderr: () => string } {
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', (error: NodeJS.ErrnoException) => reject(error.code === 'ENOENT' ? toolMissing(command) : error));
    child.on('close', resolve);
  });
  exited.catch(() => {});
  return { exited, stderr: () => stderr };
}

/** The stdout of a command as a stream; ends with an error naming `what` when the command fails. */
export async function* commandOutput(command: string, args: string[], what: string): AsyncGenerator<Buffer> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const { exited, stderr } = watch(command, child);
  try {
    yield* child.stdout as AsyncIterable<Buffer>;
    if ((await exited) !== 0) throw toolFailure(what, stderr());
  } finally {
    if (child.exitCode === null) child.kill();
  }
}

/** Feeds a stream to a command's stdin and waits for it to succeed. */
export async function commandInput(command: string, args: string[], input: AsyncIterable<Buffer>, what: string): Promise<void> {
  const child = spawn(command, args, { stdio: ['pipe', 'ignore', 'pipe'] });
  const { exited, stderr } = watch(command, child);
  try {
    await pipeline(Readable.from(input), child.stdin!);
  } catch (error) {
    if ((await exited.catch(() => null)) !== 0 && stderr()) throw toolFailure(what, stderr());
    throw error;
  }
  if ((await exited) !== 0) throw toolFailure(what, stderr());
}
