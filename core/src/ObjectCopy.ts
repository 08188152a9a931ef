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
 * (tried in order; a bad copy is passed over, never written). The object is read whole and checked before
 * anything is written (memory: one object, at most a part), and the target's put is atomic (Sink.put): the
 * target ends with the good copy, or as it was. Used by sync and copy for a sink that lacks an object, and by
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
      throw sinkFailed(target, `store ${what}`, error, { facts: { key: object.key } });
    }
    return { key: object.key, from: source.name, bytes: data.length, passed };
  }
  const problems = passed.map(({ sink, problem }) => `${sink}: ${problem}`).join('; ');
  throw noGoodCopy(what, object.key, target.name, problems, missing === passed.length);
}
