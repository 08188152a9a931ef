import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ErrorCode, RastError } from './errors.js';
import { createBackup, verifyAll, verifyBackup, type VerifyAllReport, type VerifyReport } from './operations.js';
import { RepositoryKeys } from './RepositoryKeys.js';
import type { Runtime } from './Runtime.js';
import type { Format } from './types.js';
import { MemorySink, memoryRuntime, temporaryDirectory, textFormat } from './testing.js';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

function runtimeWith(sinks: MemorySink[]): Runtime {
  return memoryRuntime(sinks, ['0123456789', 'abcdef']);
}

async function failure<T>(promise: Promise<unknown>): Promise<T> {
  try {
    await promise;
  } catch (error) {
    assert.is((error as RastError).code, ErrorCode.VERIFY_FAILED);
    return (error as RastError).facts.report as T;
  }
  throw new Error('expected VERIFY_FAILED');
}

const messages = (report: VerifyReport) =>
  [...report.sinks.flatMap((sink) => sink.problems), ...report.problems].map(
    (problem) => `${problem.kind} ${problem.sink}: ${problem.message}`,
  );

// ---

const sinks = suite('verify: damage in each of several sinks is named');

sinks('a flipped byte in one sink, a missing part and a truncated index in the other', async () => {
  const a = new MemorySink('a');
  const b = new MemorySink('b');
  const runtime = runtimeWith([a, b]);
  const source = await temporaryDirectory();
  const full = await createBackup(runtime, { path: source });
  const incremental = await createBackup(runtime, { path: source, parent: 'latest' });
  assert.is((await verifyBackup(runtime, { backup: full.id })).ok, true);

  const part1 = RepositoryKeys.part(full.id, 1);
  a.objects.get(part1)![0] ^= 0xff;
  b.objects.delete(RepositoryKeys.part(full.id, 2));
  b.objects.set(RepositoryKeys.index(full.id), b.objects.get(RepositoryKeys.index(full.id))!.subarray(0, 3));
  const report = await failure<VerifyReport>(verifyBackup(runtime, { backup: full.id }));
  assert.equal(messages(report), [
    `checksum a: backup ${full.id}, part 2 of 4 (${part1}) in sink a: SHA-256 ${report.sinks[0]!.problems[0]!.message.match(/SHA-256 (\S+),/)![1]}, expected ${full.parts[1]!.sha256.slice(0, 12)}…`,
    `missing b: backup ${full.id}, part 3 of 4 (${RepositoryKeys.part(full.id, 2)}) in sink b: is missing`,
    `size b: backup ${full.id}, file index (${RepositoryKeys.index(full.id)}) in sink b: size 3, expected ${full.index.storedSize}`,
  ]);
  assert.equal(report.dependents, [incremental.id]);
  assert.is(report.stream, null, 'each part has a good copy in one sink, so the stream still decodes');

  const presence = await failure<VerifyReport>(verifyBackup(runtime, { backup: full.id, level: 'presence' }));
  assert.equal(
    presence.sinks.map((sink) => sink.problems.map((problem) => problem.kind)),
    [[], ['missing', 'size']],
    'presence cannot see a flipped byte',
  );
  assert.equal(
    presence.sinks.map((sink) => sink.read),
    [0, 0],
    'presence downloads nothing',
  );
});

sinks('a manifest missing from one sink while its data is there; a damaged manifest in the other', async () => {
  const a = new MemorySink('a');
  const b = new MemorySink('b');
  const runtime = runtimeWith([a, b]);
  const source = await temporaryDirectory();
  const first = await createBackup(runtime, { path: source });
  const second = await createBackup(runtime, { path: source });
  b.objects.delete(RepositoryKeys.manifest(first.id));
  a.objects.set(RepositoryKeys.manifest(second.id), Buffer.from('{}'));
  runtime.repository.catalog.invalidate();
  const report = await failure<VerifyAllReport>(verifyAll(runtime, { level: 'presence' }));
  assert.equal(report.damaged.sort(), [first.id, second.id].sort());
  const reportOf = (id: string) => report.backups.find((backup) => backup.backup === id)!;
  assert.equal(messages(reportOf(first.id)), [
    `manifest-missing b: backup ${first.id}, manifest (${RepositoryKeys.manifest(first.id)}) in sink b: is missing, though 5 of its data objects are there`,
  ]);
  assert.match(
    messages(reportOf(second.id)).join('\n'),
    new RegExp(`^manifest-damaged a: backup ${second.id}, manifest \\(${RepositoryKeys.manifest(second.id)}\\) in sink a: is damaged`),
  );
});

sinks('a sink that never held a backup (added later) is not damage', async () => {
  const a = new MemorySink('a');
  const runtime = runtimeWith([a]);
  const backup = await createBackup(runtime, { path: await temporaryDirectory() });
  const later = runtimeWith([a, new MemorySink('new')]);
  const report = await verifyBackup(later, { backup: backup.id });
  assert.equal(
    report.sinks.map((sink) => [sink.sink, sink.holds, sink.objects]),
    [
      ['a', true, 5],
      ['new', false, 0],
    ],
  );
});

sinks('a manifest damaged in every sink: verify --all still finds the backup and names the incremental that needs it', async () => {
  const a = new MemorySink('a');
  const runtime = runtimeWith([a]);
  const source = await temporaryDirectory();
  const full = await createBackup(runtime, { path: source });
  const incremental = await createBackup(runtime, { path: source, parent: full.id });
  a.objects.set(RepositoryKeys.manifest(full.id), Buffer.from('garbage'));
  runtime.repository.catalog.invalidate();
  const report = await failure<VerifyAllReport>(verifyAll(runtime, {}));
  assert.equal(report.damaged.sort(), [full.id, incremental.id].sort());
  assert.match(
    messages(report.backups.find((backup) => backup.backup === incremental.id)!).join('\n'),
    new RegExp(`chain null: backup ${incremental.id} needs its parent ${full.id}, whose manifest is damaged in sink a \\(not JSON`),
  );
  assert.match(
    messages(report.backups.find((backup) => backup.backup === full.id)!).join('\n'),
    /manifest-damaged a: .* is damaged: not JSON/,
  );
});

sinks.run();

// ---

const chains = suite('verify: the chain below a backup');

chains(
  'a damaged full backup: each incremental above it is damaged, naming it; verify --all reads each object as often as one verify of it',
  async () => {
    const a = new MemorySink('a');
    const runtime = runtimeWith([a]);
    const source = await temporaryDirectory();
    const full = await createBackup(runtime, { path: source });
    const second = await createBackup(runtime, { path: source, parent: 'latest' });
    const third = await createBackup(runtime, { path: source, parent: 'latest' });
    a.objects.get(RepositoryKeys.part(full.id, 0))![0] ^= 0xff;

    const reads = () => {
      const counts = new Map<string, number>();
      for (const call of a.calls.splice(0)) if (call.startsWith('get data/')) counts.set(call, (counts.get(call) ?? 0) + 1);
      return counts;
    };
    reads();
    const one = await failure<VerifyReport>(verifyBackup(runtime, { backup: third.id }));
    assert.equal(
      one.ancestors!.map((ancestor) => [ancestor.backup, ancestor.status]),
      [
        [full.id, 'damaged'],
        [second.id, 'damaged'],
      ],
    );
    assert.equal(
      one.problems.map((problem) => [problem.kind, problem.ancestor]),
      [['ancestor', full.id]],
      'named once: the damaged backup itself, not the incremental between',
    );
    const single = reads();

    const all = await failure<VerifyAllReport>(verifyAll(runtime, {}));
    assert.equal([all.damaged, all.affected], [[full.id], [second.id, third.id]]);
    assert.equal(
      all.backups.map((backup) => [
        backup.backup,
        backup.status,
        backup.problems.filter((problem) => problem.kind === 'ancestor').map((problem) => problem.ancestor),
      ]),
      [
        [full.id, 'damaged', []],
        [second.id, 'damaged', [full.id]],
        [third.id, 'damaged', [full.id]],
      ],
    );
    assert.equal(reads(), single, 'verify --all reads what verify of the last incremental reads: no backup twice');
  },
);

chains('a parent damaged in one sink only: the incremental is reported, and told that a restore reads the good copy', async () => {
  const a = new MemorySink('a');
  const b = new MemorySink('b');
  const runtime = runtimeWith([a, b]);
  const source = await temporaryDirectory();
  const full = await createBackup(runtime, { path: source });
  const incremental = await createBackup(runtime, { path: source, parent: 'latest' });
  b.objects.get(RepositoryKeys.part(full.id, 0))![0] ^= 0xff;
  const report = await failure<VerifyReport>(verifyBackup(runtime, { backup: incremental.id }));
  assert.equal(
    report.problems.map((problem) => problem.message),
    [`backup ${incremental.id} needs backup ${full.id}, which is damaged in sink b (a restore reads the good copies in the other sinks)`],
  );
  assert.is(report.ancestors![0]!.stream, null, 'the stream decodes from the good copies');
});

chains.run();

// ---

const memory = suite('verify: memory');

memory('the stream pass lets each part go once the format has read it: what it holds does not grow with the backup', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const seen: Array<WeakRef<Buffer>> = [];
  let alive = -1;
  const format = {
    ...textFormat(),
    verify: async ({ stream }: { stream: AsyncIterable<Buffer> }) => {
      for await (const piece of stream) seen.push(new WeakRef(piece));
      await new Promise(setImmediate);
      gc();
      alive = seen.filter((piece) => piece.deref() !== undefined).length;
    },
  };
  const content = Array.from({ length: 60 }, (_, n) => `part${String(n).padStart(4, '0')}`.slice(-4));
  const runtime = memoryRuntime([new MemorySink('a')], content, format);
  const backup = await createBackup(runtime, { path: await temporaryDirectory() });
  assert.ok(backup.parts.length >= 60, `${backup.parts.length} parts`);
  assert.is((await verifyBackup(runtime, { backup: backup.id })).ok, true);
  assert.is(seen.length, backup.parts.length);
  assert.ok(alive >= 0 && alive <= 4, `${alive} of ${seen.length} parts still held once the stream was read`);
});

/** A sink whose reads take a few milliseconds, counting the most reads of parts under way at once. */
class SlowSink extends MemorySink {
  reading = 0;
  most = 0;
  override async get(key: string): Promise<Buffer> {
    if (!key.endsWith('.part')) return super.get(key);
    this.most = Math.max(this.most, ++this.reading);
    await new Promise((resolve) => setTimeout(resolve, 5));
    this.reading--;
    return super.get(key);
  }
}

/** The text format, its file index listing `files` entries. */
function filesFormat(files: number): Format {
  const text = textFormat();
  return {
    ...text,
    serialize: (context) => ({
      ...text.serialize(context),
      index: () => ({
        format: 'rast-backup/index',
        version: 1,
        backupId: context.backupId,
        entries: Array.from({ length: files }, (_, n) => ({
          path: `f${n}`,
          type: 'file' as const,
          size: 0,
          mode: 0o644,
          uid: 0,
          gid: 0,
          mtime: '0',
          from: context.backupId,
          ranges: [],
        })),
      }),
    }),
  };
}

memory(
  'a full backup of small files is decoded one part ahead, in two part buffers; one of large files with the read-ahead set',
  async () => {
    const content = Array.from({ length: 24 }, (_, n) => `p${String(n).padStart(3, '0')}`);
    // Parts read at once: the one the format waits for and those read ahead (2 here), each in a part buffer of its own.
    for (const [files, atOnce] of [
      [10, 2],
      [0, 3],
    ] as const) {
      const sink = new SlowSink('a');
      const runtime = memoryRuntime([sink], content, filesFormat(files));
      const backup = await createBackup(runtime, { path: await temporaryDirectory() });
      assert.is((await verifyBackup(runtime, { backup: backup.id })).ok, true);
      // Before: every full verify read 3 at once.
      assert.is(sink.most, atOnce, `${files} files: ${sink.most} parts read at once`);
    }
  },
);

memory('the file index a full verify reads to compare is checked as it is read, not downloaded again', async () => {
  const sink = new MemorySink('a');
  const runtime = memoryRuntime([sink], ['0123456789', 'abcdef'], filesFormat(3));
  const backup = await createBackup(runtime, { path: await temporaryDirectory() });
  sink.calls.length = 0;
  const report = await verifyBackup(runtime, { backup: backup.id });
  assert.is(report.ok, true);
  assert.is(report.sinks[0]!.read, report.sinks[0]!.objects);
  // Once for the list of its blocks, once by the comparison; before, a third time by the sink's check.
  assert.is(sink.calls.filter((call) => call === `get ${RepositoryKeys.index(backup.id)}`).length, 2);
});

memory.run();
