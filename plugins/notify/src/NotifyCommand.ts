import { Option, UsageError } from 'clipanion';
import { BaseCommand } from '@rast-backup/core/command';
import { configKeyInvalid, deliveryFailed } from '@rast-backup/core';
import { notificationOf } from './NotificationEvent.js';
import { notifyAll } from './Notifiers.js';

/** `rast-backup notify`: sends a test event, or reports a failed systemd unit (OnFailure=). */
export class NotifyCommand extends BaseCommand {
  static override paths = [['notify']];
  static override usage = BaseCommand.Usage({
    category: 'Notifications',
    description: 'Send a notification through [notify]',
    details:
      'Without --unit, sends the event test.succeeded to every configured notifier, whatever their `on` filters, to check the configuration. With --unit NAME, sends unit.failed naming the systemd unit: use it from an OnFailure= unit, so that a backup that could not even start (or was killed) is reported too. Exits 1 when a notifier fails.',
    examples: [
      ['Check that notifications arrive', '$0 notify'],
      ['From a systemd OnFailure= unit', '$0 notify --unit rast-backup-daily.service'],
    ],
  });

  unit = Option.String('--unit', { description: 'Report this systemd unit as failed (event unit.failed)' });
  message = Option.String('--message', { description: 'Error message to send with --unit (default: the unit failed)' });

  async run(): Promise<number> {
    if (this.message !== undefined && this.unit === undefined) throw new UsageError('--message goes with --unit');
    const runtime = await this.context.runtime();
    const { notifiersOf } = await import('./index.js');
    const notifiers = notifiersOf(runtime.pipeline) ?? [];
    if (notifiers.length === 0)
      throw configKeyInvalid(runtime.config.file, 'notify', 'no [[notify.webhook]] or [[notify.command]] configured');
    const started = { operation: (this.unit ? 'unit' : 'test') as never, startedAt: new Date(), path: this.unit };
    const event = this.unit
      ? notificationOf(
          started,
          'failed',
          undefined,
          new Error(this.message ?? `systemd unit ${this.unit} failed; see journalctl -u ${this.unit}`),
        )
      : notificationOf(started, 'succeeded', undefined);
    try {
      await notifyAll(notifiers, event, !this.unit);
    } catch (error) {
      throw deliveryFailed(error);
    }
    if (this.json) this.context.stdout.write(`${JSON.stringify(event, null, 2)}\n`);
    else this.context.stdout.write(`sent ${event.event} to ${notifiers.length} notifier${notifiers.length === 1 ? '' : 's'}\n`);
    return 0;
  }
}
