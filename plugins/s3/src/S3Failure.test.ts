import { ErrorCode, type RastError } from '@rast-backup/core';
import { silentLogger } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { S3Sink } from './S3Sink.js';
import { normaliseSettings, type S3Options } from './S3Settings.js';

const test = suite('s3 failures');

test('a sink for AWS with no region in the config or the environment fails naming [s3] region, before any request', async () => {
  const saved = { ...process.env };
  for (const name of ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE']) delete process.env[name];
  process.env.AWS_CONFIG_FILE = '/nonexistent/rast-backup-test/config';
  process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/rast-backup-test/credentials';
  try {
    const settings = normaliseSettings({ bucket: 'b', access_key_id: 'k', secret_access_key: 's' } as S3Options, 'test config');
    const sink = new S3Sink(settings, silentLogger());
    let failure: RastError | undefined;
    try {
      for await (const object of sink.list('backups/')) void object;
    } catch (error) {
      failure = error as RastError;
    }
    assert.ok(failure, 'listing without a region failed');
    assert.is(failure!.code, ErrorCode.SINK_FAILED);
    assert.match(failure!.message, /no region: set \[s3\] region/);
  } finally {
    process.env = saved;
  }
});

test.run();
