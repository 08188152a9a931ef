import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { temporaryDirectory, waitFor } from '@rast-backup/core/testing';

export const tmuxAvailable = spawnSync('tmux', ['-V']).status === 0;

const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;

/**
 * A command run in a real terminal: a tmux pane on a tmux server of its own (never the user's), with every byte
 * written to the pane recorded (the bar's redraws included), and the screen as it is left at the end.
 */
export async function runInTerminal(
  command: string[],
  options: { env?: Record<string, string>; width?: number; timeoutMs?: number } = {},
): Promise<{ exit: number; written: string; screen: string }> {
  const directory = await temporaryDirectory('rast-terminal-');
  const socket = `rast-test-${process.pid}-${path.basename(directory)}`;
  const tmux = (...args: string[]) => {
    const result = spawnSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${result.stderr}`);
    return result.stdout;
  };
  const go = path.join(directory, 'go');
  const done = path.join(directory, 'exit');
  const environment = Object.entries(options.env ?? {}).map(([name, value]) => `${name}=${quote(value)}`);
  // The command waits until the pane is recorded; the pane stays open after it, for its screen to be read.
  const script = path.join(directory, 'run.sh');
  await writeFile(
    script,
    `while [ ! -e ${quote(go)} ]; do sleep 0.02; done\nenv ${environment.join(' ')} ${command.map(quote).join(' ')}\necho $? > ${quote(done)}.tmp && mv ${quote(done)}.tmp ${quote(done)}\nexec sleep 600\n`,
  );
  const width = String(options.width ?? 160);
  tmux('-f', '/dev/null', 'new-session', '-d', '-s', 'test', '-x', width, '-y', '40', `sh ${quote(script)}`);
  try {
    const recording = path.join(directory, 'written');
    tmux('pipe-pane', '-t', 'test', '-o', `cat > ${quote(recording)}`);
    await writeFile(go, '');
    await waitFor(
      `${command.join(' ')} to end in tmux`,
      () =>
        readFile(done, 'utf8').then(
          () => true,
          () => false,
        ),
      options.timeoutMs ?? 120_000,
    );
    const exit = Number((await readFile(done, 'utf8')).trim());
    // pipe-pane copies what the pane received a moment later.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const screen = tmux('capture-pane', '-p', '-t', 'test');
    return { exit, written: await readFile(recording, 'utf8'), screen };
  } finally {
    spawnSync('tmux', ['-L', socket, 'kill-server']);
  }
}
