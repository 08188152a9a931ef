import { Command, Option, UsageError, type BaseContext } from 'clipanion';
import { ErrorCode, isRastError, RastError, type Runtime } from '@rast-backup/core';
import { notificationOf } from './NotificationEvent.js';
import { notifyAll } from './Notifiers.js';

/** What the CLI gives every command (see cli/src/BaseCommand.ts). */
interface CommandContext extends BaseContext {
  runtime(): Promise<Runtime>;
}

/** `rast-backup notify`: sends a test event, or reports a failed systemd unit (OnFailure=). */
export class NotifyCommand extends Command<CommandContext> {
  static override paths = [['notify']];
  static override usage = Command.Usage({
    category: 'Notifications',
    description: 'Send a notification through [notify]',
    details: 'Without --unit, sends the event test.succeeded to every configured notifier, whatever their `on` filters, to check the configuration. With --unit NAME, sends unit.failed naming the systemd unit: use it from an OnFailure= unit, so that a backup that could not even start (or was killed) is reported too. Exits 1 when a notifier fails.',
    examples: [
      ['Check that notifications arrive', '$0 notify'],
      ['From a systemd OnFailure= unit', '$0 notify --unit rast-backup-daily.service'],
    ],
  });

  config = Option.String('--config', { description: 'Config file to use (else RAST_BACKUP_CONFIG, a project config, /etc/rast/backup/config.toml, the embedded default)' });
  json = Option.Boolean('--json', false, { description: 'Print the event sent as JSON on stdout' });
  verbose = Option.Boolean('--verbose', false, { description: 'Print stack traces of unexpected errors' });
  unit = Option.String('--unit', { description: 'Report this systemd unit as failed (event unit.failed)' });
  message = Option.String('--message', { description: 'Error message to send with --unit (default: the unit failed)' });

  async execute(): Promise<number> {
    try {
      return await this.run();
    } catch (error) {
      if (error instanceof UsageError) {
        this.context.stderr.write(`rast-backup: usage error: ${error.message}\n(see rast-backup notify --help)\n`);
        return 2;
      }
      if (isRastError(error)) {
        this.context.stderr.write(`rast-backup: error ${error.code}: ${error.message}\n`);
        return error.exitCode;
      }
      this.context.stderr.write(`rast-backup: unexpected error: ${(error as Error).message}\n`);
      if (this.verbose) this.context.stderr.write(`${(error as Error).stack}\n`);
      return 1;
    }
  }

  async run(): Promise<number> {
    if (this.message !== undefined && this.unit === undefined) throw new UsageError('--message goes with --unit');
    const runtime = await this.context.runtime();
    const { notifiersOf } = await import('./index.js');
    const notifiers = notifiersOf(runtime.pipeline) ?? [];
    if (notifiers.length === 0) throw new RastError(ErrorCode.CONFIG_INVALID, `${runtime.config.file ?? 'embedded default config'}: notify: no [[notify.webhook]] or [[notify.command]] configured`, { key: 'notify' });
    const started = { operation: (this.unit ? 'unit' : 'test') as never, startedAt: new Date(), path: this.unit };
    const event = this.unit
      ? notificationOf(started, 'failed', undefined, new Error(this.message ?? `systemd unit ${this.unit} failed; see journalctl -u ${this.unit}`))
      : notificationOf(started, 'succeeded', undefined);
    try {
      await notifyAll(notifiers, event, !this.unit);
    } catch (error) {
      throw new RastError(ErrorCode.SINK_FAILED, (error as Error).message);
    }
    if (this.json) this.context.stdout.write(`${JSON.stringify(event, null, 2)}\n`);
    else this.context.stdout.write(`sent ${event.event} to ${notifiers.length} notifier${notifiers.length === 1 ? '' : 's'}\n`);
    return 0;
  }
}
