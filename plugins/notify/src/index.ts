import { definePlugin, type Operation, packageIdentity, type Pipeline, pluginState } from '@rast-backup/core';
import { notificationOf } from './NotificationEvent.js';
import { CommandNotifier, notifyAll, WebhookNotifier, type Notifier } from './Notifiers.js';
import { NotifyCommand } from './NotifyCommand.js';
import { NOTIFY_OPTIONS } from './NotifySettings.js';

const { name: PLUGIN_NAME, version: VERSION } = packageIdentity(import.meta.url);

export { notificationOf, type NotificationEvent } from './NotificationEvent.js';
export { WebhookNotifier, CommandNotifier, notifyAll, type Notifier } from './Notifiers.js';
export { NotifyCommand } from './NotifyCommand.js';

/** The notifiers `[notify]` configured on each pipeline (for `rast-backup notify`). */
export const notifiers = pluginState<Notifier[]>(PLUGIN_NAME);

/** The notifiers `[notify]` configured on this pipeline; undefined when the plugin did not apply. */
export function notifiersOf(pipeline: Pipeline): Notifier[] | undefined {
  return notifiers.get(pipeline);
}

/**
 * `[notify]`: sends an event when create, verify or prune succeed or fail, to webhooks and commands.
 * A notifier that fails is a warning (core's lifecycle hooks never change an operation's outcome).
 */
export default definePlugin({
  name: PLUGIN_NAME,
  version: VERSION,
  configKey: 'notify',
  activation: 'configured',
  options: NOTIFY_OPTIONS,
  commands: [NotifyCommand],
  apply(pipeline, options) {
    type Outcome = 'success' | 'failure';
    const defaultOn = new Set<Outcome>(options.on ?? ['failure']);
    const on = (own: Outcome[] | undefined) => (own ? new Set<Outcome>(own) : defaultOn);
    const configured = notifiers.set(pipeline, [
      ...(options.webhook ?? []).map(
        (webhook) =>
          new WebhookNotifier({
            url: webhook.url,
            on: on(webhook.on),
            timeoutSeconds: webhook.timeout_seconds ?? 10,
            retries: webhook.retries ?? 3,
            retryDelaySeconds: webhook.retry_delay_seconds ?? 2,
            headers: webhook.headers ?? {},
          }),
      ),
      ...(options.command ?? []).map(
        (command) => new CommandNotifier({ command: command.command, on: on(command.on), timeoutSeconds: command.timeout_seconds ?? 60 }),
      ),
    ]);
    const operations = new Set<Operation>(options.operations ?? ['create', 'verify', 'prune']);
    pipeline.hooks.succeeded.tapPromise(PLUGIN_NAME, async (event, result) => {
      if (operations.has(event.operation)) await notifyAll(configured, notificationOf(event, 'succeeded', result));
    });
    pipeline.hooks.failed.tapPromise(PLUGIN_NAME, async (event, error) => {
      if (operations.has(event.operation)) await notifyAll(configured, notificationOf(event, 'failed', undefined, error));
    });
  },
});
