// rast-backup-plugin-log-events: appends one JSON line per finished operation to a log file.
//
//   plugins = ["log-events"]          # once installed from npm (or ["./index.mjs"] for this file)
//   [log-events]
//   log_path = "/var/log/rast-backup/events.jsonl"
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { definePlugin } from '@rast-backup/core';
import * as t from 'typanion';

const PLUGIN_NAME = 'rast-backup-plugin-log-events';

export default definePlugin({
  name: PLUGIN_NAME,
  version: '0.1.0',
  configKey: 'log-events',
  activation: 'configured',
  options: {
    /** File the events are appended to; a relative path is relative to the config file. */
    log_path: t.isString(),
  },
  apply(pipeline, options, context) {
    const file = path.resolve(context.configDirectory, options.log_path);
    const write = async (record) => {
      await mkdir(path.dirname(file), { recursive: true });
      await appendFile(file, JSON.stringify(record) + '\n');
    };
    const describe = (event, outcome) => ({
      time: new Date().toISOString(),
      operation: event.operation,
      outcome,
      backupId: event.backupId ?? null,
      path: event.path ?? null,
      seconds: (Date.now() - event.startedAt.getTime()) / 1000,
    });

    pipeline.hooks.succeeded.tapPromise(PLUGIN_NAME, (event) => write(describe(event, 'succeeded')));
    pipeline.hooks.failed.tapPromise(PLUGIN_NAME, (event, error) =>
      write({ ...describe(event, 'failed'), code: error.code ?? null, error: error.message }),
    );
  },
});
