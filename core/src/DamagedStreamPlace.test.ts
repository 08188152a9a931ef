import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { streamDamagedInBackup } from './diagnostics/index.js';
import { ErrorCode, RastError } from './errors.js';
import { createBackup, restoreBackup, verifyBackup, type VerifyReport } from './operations.js';
import { RepositoryKeys } from './RepositoryKeys.js';
import { MemorySink, memoryRuntime, temporaryDirectory, textFormat } from './testing.js';
import type { Format } from './types.js';

/** The text format, whose stream is damaged where it holds an `X`: the error names the backup and the byte, as the send-stream decoder's do. */
function checking(): Format {
  const read = async (manifest: { id: string }, stream: AsyncIterable<Buffer>) => {
    let offset = 0;
    for await (const chunk of stream) {
      const at = chunk.indexOf('X');
      if (at >= 0) throw streamDamagedInBackup(manifest.id, `damaged at byte ${offset + at}`, { offset: offset + at });
      offset += chunk.length;
    }
  };
  return {
    ...textFormat(),
    restore: async ({ chain, openStream }) => {
      for (const manifest of chain) await read(manifest, openStream(manifest));
      return { entries: 0, bytes: 0, skipped: [] };
    },
    verify: async ({ manifest, stream }) => read(manifest, stream),
  };
}

const place = suite('a stream that decodes but is damaged: its error names the backup, the part and the sink');

place('restore and verify name the part holding the damaged byte and the sink it came from', async () => {
  const a = new MemorySink('a');
  const b = new MemorySink('b');
  const runtime = memoryRuntime([a, b], ['0123456X89', 'abcdef'], checking());
  const backup = await createBackup(runtime, { path: await temporaryDirectory() });
  const key = RepositoryKeys.part(backup.id, 1);
  const error = await restoreBackup(runtime, { backup: backup.id, destination: await temporaryDirectory() }).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  assert.instance(error, RastError, 'the restore succeeded over a damaged stream');
  assert.is((error as RastError).code, ErrorCode.STREAM_DAMAGED);
  assert.is((error as RastError).message, `backup ${backup.id}, part 2 of 4 (${key}) in sink a: damaged at byte 7`);

  a.objects.delete(key);
  const report = await verifyBackup(runtime, { backup: backup.id }).then(
    () => undefined,
    (caught: unknown) => (caught as RastError).facts.report as VerifyReport,
  );
  assert.ok(report, 'verify passed a damaged stream');
  assert.is(report.stream, `backup ${backup.id}, part 2 of 4 (${key}) in sink b: damaged at byte 7`);
  assert.equal(
    report.problems.map(({ kind, sink, key: object }) => [kind, sink, object]),
    [['stream', 'b', key]],
  );
});

place.run();
