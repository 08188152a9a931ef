import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Builtins, Cli, type CommandClass } from 'clipanion';
import { createRuntime, displayPath, isRastError, type Runtime } from '@rast-backup/core';
import defaultPreset from '@rast-backup/preset-default';
import type { RastContext } from '@rast-backup/core/command';
import { ConfigCommand } from './commands/config.js';
import { CreateCommand } from './commands/create.js';
import { DeleteCommand } from './commands/delete.js';
import { DiffCommand } from './commands/diff.js';
import { FindCommand } from './commands/find.js';
import { InfoCommand } from './commands/info.js';
import { ListCommand } from './commands/list.js';
import { LsCommand } from './commands/ls.js';
import { PluginsCommand } from './commands/plugins.js';
import { RepairCommand } from './commands/repair.js';
import { RestoreCommand } from './commands/restore.js';
import { StatsCommand } from './commands/stats.js';
import { CopyCommand } from './commands/copy.js';
import { SyncCommand } from './commands/sync.js';
import { VerifyCommand } from './commands/verify.js';
import { stderrLogger } from './Logger.js';

const COMMANDS = [
  CreateCommand,
  ListCommand,
  StatsCommand,
  InfoCommand,
  LsCommand,
  DiffCommand,
  FindCommand,
  VerifyCommand,
  RepairCommand,
  RestoreCommand,
  DeleteCommand,
  SyncCommand,
  CopyCommand,
  PluginsCommand,
  ConfigCommand,
];
const version = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

/** `--config FILE` or `--config=FILE`, wherever it stands: plugins (and their commands) depend on it. */
function configFlag(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--config') return argv[i + 1];
    if (argv[i]!.startsWith('--config=')) return argv[i]!.slice('--config='.length);
  }
  return undefined;
}

/**
 * Clipanion's message made one line: an unknown command named (not followed by every command's usage), the
 * command's usage that follows some messages left to --help, and an option left without its value named (and
 * a negative number, which reads as an option: `--keep-last -1`).
 */
function usageMessage(clipanionMessage: string, argv: string[]): string {
  if (clipanionMessage.startsWith('Command not found')) {
    const words = argv.filter((word, index) => !word.startsWith('-') && argv[index - 1] !== '--config');
    return `unknown command ${JSON.stringify(words.join(' '))}`;
  }
  const message = clipanionMessage.split('\n')[0]!;
  const option = /^Not enough arguments to option (\S+)\./.exec(message)?.[1];
  if (option === undefined) return message;
  const next = argv[argv.indexOf(option) + 1];
  return next !== undefined && /^-\d/.test(next)
    ? `option ${option} needs a value: ${JSON.stringify(next)} is read as an option (write ${option}=${next} to give it as the value)`
    : `option ${option} needs a value`;
}

export async function main(argv: string[]): Promise<number> {
  const verbose = { enabled: argv.includes('--verbose') };
  const log = stderrLogger(process.stderr, () => verbose.enabled);
  const cliDirectory = path.dirname(fileURLToPath(import.meta.url));
  // Loaded before parsing, so that plugins' commands exist for parsing and --help; a config error is
  // reported by the command that needs the runtime, or here when the command line names no command.
  const runtimeOf = (configFile: string | undefined) =>
    createRuntime({ configFile, defaultPresets: [defaultPreset], resolveFrom: [cliDirectory], log });
  const loading: Promise<Runtime> = runtimeOf(configFlag(argv));
  const failure: unknown = await loading.then(
    () => undefined,
    (error: unknown) => error ?? new Error('loading the config failed'),
  );
  const runtime = failure === undefined ? await loading : undefined;

  const cli = new Cli<RastContext>({ binaryLabel: 'rast-backup', binaryName: 'rast-backup', binaryVersion: version, enableCapture: false });
  for (const command of COMMANDS) cli.register(command);
  for (const { plugin, active } of runtime?.plugins ?? []) {
    if (active) for (const command of plugin.commands ?? []) cli.register(command as CommandClass<RastContext>);
  }
  cli.register(Builtins.HelpCommand);
  cli.register(Builtins.VersionCommand);

  const context = {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    colorDepth: process.stdout.isTTY ? 8 : 1,
    env: process.env,
    verbose,
    runtime: () => loading,
    runtimeOf,
  };
  let command;
  try {
    command = cli.process(argv, context);
  } catch (error) {
    // The command may be a plugin's that the config error kept from loading (`prune` with a bad [retention]).
    if (isRastError(failure)) {
      process.stderr.write(`rast-backup: error ${failure.code}: ${displayPath(failure.message)}\n`);
      return failure.exitCode;
    }
    const message = usageMessage((error as Error).message.replace(/\x1b\[[0-9;]*m/g, '').trim(), argv);
    process.stderr.write(`rast-backup: usage error: ${message}\n(see rast-backup --help)\n`);
    return 2;
  }
  return cli.run(command, context);
}
