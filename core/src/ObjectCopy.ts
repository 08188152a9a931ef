import { createHash } from 'node:crypto';
import { ErrorCode, RastError } from './errors.js';
import { checkStored } from './PartChecksum.js';
import type { Sink } from './types.js';
import { noGoodCopy, sinkFailed } from './diagnostics/index.js';

/** One stored object as its record says it must be (a manifest's PartRecord, an index block). */
export interface ObjectRecord {
  key: string;
  /** Stored bytes. */
  storedSize: number;
  /** SHA-256 of the stored bytes, hex; absent when no record is readable here: then only the size is checked. */
  sha256?: string;
}

/** What copyObject did. */
export interface CopiedObject {
  key: string;
  /** The sink the good copy was read from. */
  from: string;
  bytes: number;
  /** Sources tried before it whose copy was missing, damaged or unreadable, and why (nothing was written from them). */
  passed: Array<{ sink: string; problem: string }>;
}

/**
 * Copies one stored object to `target` from the first of `sources` whose copy has the recorded size and SHA-256
 * (tried in order; a bad copy is passed over, never written). Where the source can read in chunks and the target
 * write them (Sink.read, Sink.write), the object streams through, hashed as it goes, and the target's write is
 * abandoned when the end shows a bad copy (memory: a few chunks, whatever the part size); otherwise it is read
 * whole and checked before anything is written (memory: one object, at most a part), and the target's put is
 * atomic (Sink.put). Either way the target ends with the good copy, or as it was. Used by sync and copy for a sink that lacks an object, and by
 * repair for one whose copy is bad.
 *
 * Throws PART_MISSING when no source holds the object, PART_DAMAGED when none holds a good copy (each naming
 * the object and every source's problem), SINK_FAILED naming the target when it cannot store it.
 */
export async function copyObject(
  object: ObjectRecord,
  sources: readonly Sink[],
  target: Sink,
  options: { durable?: boolean; label?: string } = {},
): Promise<CopiedObject> {
  const what = options.label ? `${options.label} (${object.key})` : object.key;
  const passed: CopiedObject['passed'] = [];
  let missing = 0;
  for (const source of sources) {
    if (source.read && target.write) {
      try {
        await copyStreamed(object, source, target, options.durable === true);
        return { key: object.key, from: source.name, bytes: object.storedSize, passed };
      } catch (error) {
        if (!(error instanceof SourceProblem)) throw targetFailure(target, what, object.key, error);
        if (error.missing) missing++;
        passed.push({ sink: source.name, problem: error.message });
        continue;
      }
    }
    let data: Buffer;
    try {
      data = await source.get(object.key);
    } catch (error) {
      if (error instanceof RastError && error.code === ErrorCode.PART_MISSING) missing++;
      passed.push({ sink: source.name, problem: (error as Error).message });
      continue;
    }
    const mismatch = object.sha256
      ? await checkStored(data, { key: object.key, size: 0, storedSize: object.storedSize, sha256: object.sha256 })
      : data.length === object.storedSize
        ? undefined
        : { message: `size ${data.length}, expected ${object.storedSize}` };
    if (mismatch) {
      passed.push({ sink: source.name, problem: `damaged: ${mismatch.message}` });
      continue;
    }
    try {
      await target.put(object.key, data, { durable: options.durable });
    } catch (error) {
      throw targetFailure(target, what, object.key, error);
    }
    return { key: object.key, from: source.name, bytes: data.length, passed };
  }
  const problems = passed.map(({ sink, problem }) => `${sink}: ${problem}`).join('; ');
  throw noGoodCopy(what, object.key, target.name, problems, missing === passed.length);
}

function targetFailure(target: Sink, what: string, key: string, error: unknown): RastError {
  return sinkFailed(target, `store ${what}`, error, { facts: { key } });
}

/** What was wrong with a source's copy, found as it streamed: that source is passed over, the target is as it was. */
class SourceProblem extends Error {
  constructor(
    message: string,
    readonly missing = false,
  ) {
    super(message);
  }
}

/** Streams `object` from `source` into `target`, checking its size and SHA-256 as it flows; a bad copy throws SourceProblem at its end. */
async function copyStreamed(object: ObjectRecord, source: Sink, target: Sink, durable: boolean): Promise<void> {
  const hash = createHash('sha256');
  let bytes = 0;
  async function* checked(): AsyncIterable<Buffer> {
    try {
      for await (const chunk of source.read!(object.key)) {
        bytes += chunk.length;
        if (bytes > object.storedSize) break;
        hash.update(chunk);
        yield chunk;
      }
    } catch (error) {
      if (error instanceof SourceProblem) throw error;
      throw new SourceProblem((error as Error).message, error instanceof RastError && error.code === ErrorCode.PART_MISSING);
    }
    if (bytes !== object.storedSize)
      throw new SourceProblem(
        `damaged: size ${bytes > object.storedSize ? `above ${object.storedSize}` : bytes}, expected ${object.storedSize}`,
      );
    const digest = hash.digest('hex');
    if (object.sha256 && digest !== object.sha256)
      throw new SourceProblem(`damaged: SHA-256 ${digest.slice(0, 12)}…, expected ${object.sha256.slice(0, 12)}…`);
  }
  await target.write!(object.key, checked(), object.storedSize, { durable });
}
