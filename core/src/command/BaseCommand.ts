/**
 * The base of every CLI command, the built-in ones and those plugins contribute (`@rast-backup/core/command`):
 * the options every command takes (--config, --json, --verbose) and one place where errors become a message
 * and an exit code. Only this subpath of the core loads clipanion.
 */
import { Command, Option, UsageError, type BaseContext } from 'clipanion';
import { isRastError } from '../errors.js';
import { displayPath } from '../IndexPath.js';
import type { Runtime } from '../Runtime.js';

export interface RastContext extends BaseContext {
  /** Loads the config and applies the plugins (once). */
  runtime(): Promise<Runtime>;
  /** Loads another config (`copy --to-config`) with the same presets and plugin resolution, as a runtime of its own. */
  runtimeOf?(configFile: string): Promise<Runtime>;
  verbose: { enabled: boolean };
}

/** Options every command takes, and the one place where errors become a message and an exit code. */
export abstract class BaseCommand extends Command<RastContext> {
  config = Option.String('--config', {
    description: 'Config file to use (else RAST_BACKUP_CONFIG, a project config, /etc/rast/backup/config.toml, the embedded default)',
  });
  json = Option.Boolean('--json', false, { description: 'Print one JSON document on stdout; logs go to stderr' });
  verbose = Option.Boolean('--verbose', false, { description: 'Print more, and stack traces of unexpected errors' });

  abstract run(): Promise<number>;

  async execute(): Promise<number> {
    this.context.verbose.enabled = this.verbose;
    try {
      return await this.run();
    } catch (error) {
      return this.report(error);
    }
  }

  report(error: unknown): number {
    if (error instanceof UsageError) {
      this.context.stderr.write(`rast-backup: usage error: ${error.message}\n(see rast-backup ${this.path.join(' ')} --help)\n`);
      return 2;
    }
    if (isRastError(error)) {
      // One line that drives no terminal, whatever the repository's names hold (\xHH, as paths are shown).
      this.context.stderr.write(`rast-backup: error ${error.code}: ${displayPath(error.message)}\n`);
      if (this.verbose && error.cause instanceof Error) this.context.stderr.write(`${error.cause.stack}\n`);
      return error.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    this.context.stderr.write(
      `rast-backup: unexpected error: ${displayPath(message)}${this.verbose ? '' : ' (run with --verbose for details)'}\n`,
    );
    if (this.verbose && error instanceof Error) this.context.stderr.write(`${error.stack}\n`);
    return 1;
  }

  out(text: string): void {
    this.context.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }
}

export { progressOption, withProgress, type ProgressMode, type ProgressDisplayOptions } from './ProgressDisplay.js';
