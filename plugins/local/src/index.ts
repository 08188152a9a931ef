import path from 'node:path';
import { BACKUP_GROUP, configKeyInvalid, definePlugin, groupId, packageIdentity } from '@rast-backup/core';
import * as t from 'typanion';
import { LocalSink } from './LocalSink.js';

const { name: PLUGIN_NAME, version: VERSION } = packageIdentity(import.meta.url);

export { LocalSink, type LocalSinkOptions } from './LocalSink.js';

/** `[storage] local.path`: a repository in a local directory. */
export default definePlugin({
  name: PLUGIN_NAME,
  version: VERSION,
  configKey: 'storage.local',
  activation: 'configured',
  options: {
    /** Repository directory; relative paths are relative to the config file. */
    path: t.isString(),
    /** Group allowed to read backups; defaults to `rast-backup` where that group exists. */
    group: t.isOptional(t.isString()),
  },
  async apply(pipeline, options, context) {
    const root = path.resolve(context.configDirectory, options.path);
    const gid = await groupId(options.group ?? BACKUP_GROUP);
    if (options.group !== undefined && gid === undefined) {
      throw configKeyInvalid(context.configFile, 'storage.local.group', `no group ${options.group} in /etc/group`);
    }
    pipeline.hooks.sinks.tap(PLUGIN_NAME, (sinks) => [...sinks, new LocalSink({ name: 'local', root, gid })]);
  },
});
