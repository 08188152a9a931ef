import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { Socket, type OnReadOpts, type SocketConstructorOpts } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runTool, toolFailure, toolMissing } from './BtrfsCommand.js';
import { setPipeSize } from './FileCalls.js';

/** The spill buffer: a pipe's default capacity, so one read empties the pipe. */
const SPILL = 64 * 1024;

/**
 * The capacity asked for a command's stdin pipe: 1 MiB (/proc/sys/fs/pipe-max-size's default) instead of 64 KiB,
 * so that a large chunk goes in with 16× fewer wake-ups of this thread and of the reader.
 */
const INPUT_PIPE = 1024 * 1024;

/**
 * The capacity asked for a command's stdout pipe: the command keeps writing while this thread decodes a part
 * (a part of a many-files stream takes tens of milliseconds), where 64 KiB would stop it at once.
 */
const OUTPUT_PIPE = 1024 * 1024;

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

/**
 * A command's stdout, read straight into buffers the caller gives (`fill`), with no buffer allocated per read:
 * the stdout is a FIFO read through a socket in `onread` mode. That keeps the garbage collector out of a
 * stream of gigabytes (a pipe read the usual way makes a new 64 KiB Buffer per read, and V8 runs a full
 * collection for about every 64 MiB of them).
 */
export class CommandOutput {
  private readonly exited: Promise<number | null>;
  private readonly stderr: () => string;
  private readonly child: ChildProcess;
  private readonly socket: Socket;
  /** Where a read lands while no target has room: at most one read, copied into the next target. */
  private readonly spill = Buffer.allocUnsafeSlow(SPILL);
  private spilled = 0;
  private target: Buffer | undefined;
  private filled = 0;
  private ended = false;
  private failure: Error | undefined;
  private waiting: (() => void) | undefined;

  private constructor(
    command: string,
    args: string[],
    private readonly what: string,
    fifo: string,
  ) {
    const reading = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const writing = openSync(fifo, constants.O_WRONLY);
    try {
      setPipeSize(writing, OUTPUT_PIPE);
      // In a process group of its own: `btrfs send` stopped while it waits on a full pipe (Ctrl-Z at the terminal)
      // writes its stream again from the start once continued, in the middle of the first. A Ctrl-C reaches
      // rast-backup only, which stops the command (close()).
      this.child = spawn(command, args, { stdio: ['ignore', writing, 'pipe'], detached: true });
    } catch (error) {
      closeSync(reading);
      throw error;
    } finally {
      closeSync(writing);
    }
    ({ exited: this.exited, stderr: this.stderr } = watch(command, this.child));
    // `onread` is honoured by the Socket constructor (Node ≥ 12.2) though @types/node lists it for connect() only.
    const options: SocketConstructorOpts & { onread: OnReadOpts } = {
      fd: reading,
      readable: true,
      writable: false,
      onread: { buffer: () => this.room(), callback: (length: number, buffer: Uint8Array) => this.arrived(length, buffer) },
    };
    this.socket = new Socket(options);
    this.socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    this.socket.on('error', (error) => {
      this.failure ??= error;
      this.wake();
    });
  }

  /** Starts `command args` with its stdout on a private FIFO. */
  static async start(command: string, args: string[], what: string): Promise<CommandOutput> {
    const directory = await mkdtemp(path.join(tmpdir(), 'rast-output-'));
    try {
      const fifo = path.join(directory, 'stdout');
      await runTool('mkfifo', ['-m', '600', fifo], `making a FIFO for ${what}`);
      return new CommandOutput(command, args, what, fifo);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  }

  private room(): Buffer {
    return this.target && this.filled < this.target.length ? this.target.subarray(this.filled) : this.spill;
  }

  private arrived(length: number, buffer: Uint8Array): boolean {
    if (buffer === this.spill) {
      this.spilled = length;
      this.drainSpill();
    } else this.filled += length;
    if (this.spilled > 0 || (this.target && this.filled === this.target.length)) {
      this.wake();
      return false;
    }
    return true;
  }

  private drainSpill(): void {
    if (!this.target || this.spilled === 0) return;
    const take = Math.min(this.spilled, this.target.length - this.filled);
    this.spill.copy(this.target, this.filled, 0, take);
    this.spill.copyWithin(0, take, this.spilled);
    this.filled += take;
    this.spilled -= take;
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.();
  }

  /**
   * Fills `target` with the next bytes of the output and returns how many: fewer than `target.length` only at
   * the end, after the command has exited with 0 (a failure is thrown, naming `what`). The target is the
   * caller's again once this returns.
   */
  async fill(target: Buffer): Promise<number> {
    this.target = target;
    this.filled = 0;
    try {
      for (;;) {
        this.drainSpill();
        if (this.failure) throw this.failure;
        if (this.filled === target.length) return this.filled;
        if (this.ended) {
          if ((await this.exited) !== 0) throw toolFailure(this.what, this.stderr());
          return this.filled;
        }
        const waited = new Promise<void>((resolve) => (this.waiting = resolve));
        this.socket.resume();
        await waited;
      }
    } finally {
      this.target = undefined;
    }
  }

  /** Stops the command if it still runs (after a failure elsewhere) and closes the output; resolves once it has exited. */
  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill();
    this.socket.destroy();
    await this.exited.catch(() => {});
  }
}

/**
 * Starts `command args` with its stdin on a private FIFO of INPUT_PIPE bytes, and returns the FIFO's write end
 * as a non-blocking stream. Node's own `stdio: 'pipe'` would give the command a Unix socket, whose writes the
 * kernel builds from multi-page buffers; a pipe takes single pages, as in a shell pipeline.
 */
async function startWithInput(
  command: string,
  args: string[],
  what: string,
): Promise<{ stdin: Socket; exited: Promise<number | null>; stderr: () => string }> {
  const directory = await mkdtemp(path.join(tmpdir(), 'rast-input-'));
  try {
    const fifo = path.join(directory, 'stdin');
    await runTool('mkfifo', ['-m', '600', fifo], `making a FIFO for ${what}`);
    // Opening either end alone blocks until the other is open: a non-blocking read end first, then the two the processes keep.
    const opening = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    let writing: number | undefined;
    let reading: number | undefined;
    try {
      writing = openSync(fifo, constants.O_WRONLY);
      reading = openSync(fifo, constants.O_RDONLY);
      setPipeSize(writing, INPUT_PIPE);
      const child = spawn(command, args, { stdio: [reading, 'ignore', 'pipe'] });
      const watched = watch(command, child);
      const stdin = new Socket({ fd: writing, readable: false, writable: true });
      writing = undefined;
      return { stdin, ...watched };
    } finally {
      closeSync(opening);
      if (reading !== undefined) closeSync(reading);
      if (writing !== undefined) closeSync(writing);
    }
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

/**
 * Feeds a stream to a command's stdin and waits for it to succeed. Each chunk is written (handed to the
 * pipe) before the next is asked for: the stream may reuse a chunk's memory then (RestoreContext.openStream).
 */
export async function commandInput(command: string, args: string[], input: AsyncIterable<Buffer>, what: string): Promise<void> {
  const { stdin, exited, stderr } = await startWithInput(command, args, what);
  stdin.on('error', () => {}); // each write's callback hears it
  const written = (chunk?: Buffer) =>
    new Promise<void>((resolve, reject) => {
      const done = (error?: Error | null) => (error ? reject(error) : resolve());
      if (chunk) stdin.write(chunk, done);
      else stdin.end(done);
    });
  try {
    for await (const chunk of input) await written(chunk);
    await written();
  } catch (error) {
    stdin.destroy();
    // A command that could not start throws here (TOOL_MISSING), one that failed is named with its stderr.
    if ((await exited) !== 0 && stderr()) throw toolFailure(what, stderr());
    throw error;
  }
  if ((await exited) !== 0) throw toolFailure(what, stderr());
}
