import { definePlugin, packageIdentity } from '@rast-backup/core';
import { normaliseSettings, S3_OPTIONS } from './S3Settings.js';
import { S3Sink } from './S3Sink.js';

const { name: PLUGIN_NAME, version: VERSION } = packageIdentity(import.meta.url);

export { S3Sink } from './S3Sink.js';
export { normaliseSettings, describeLocation, S3_OPTIONS, type S3Settings, type S3Options } from './S3Settings.js';

/** `[s3]`: a repository in an S3 bucket, beside any other sink. The AWS SDK loads only when the sink is first used. */
export default definePlugin({
  name: PLUGIN_NAME,
  version: VERSION,
  configKey: 's3',
  activation: 'configured',
  options: S3_OPTIONS,
  secrets: ['secret_access_key', 'session_token'],
  apply(pipeline, options, context) {
    const settings = normaliseSettings(options, context.configFile ?? 'config');
    pipeline.hooks.sinks.tap(PLUGIN_NAME, (sinks) => [...sinks, new S3Sink(settings, context.log)]);
  },
});
