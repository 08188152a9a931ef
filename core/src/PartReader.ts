import type { ManifestHead } from './ManifestHead.js';
import { partSizeWrong, partUndecodable, partUnreadable, transformMissing } from './diagnostics/index.js';
import { ErrorCode, RastError } from './errors.js';
import type { Manifest, PartRecord } from './Manifest.js';
import { decodeSteps, type DecodeOutcome, type DecodeStep } from './PartDecoder.js';
import { collectIfGrown } from './GarbageBudget.js';
import { StreamRangeReader } from './StreamRangeReader.js';
import { collectAllGarbage, collectYoungGarbage } from './WorkerGarbage.js';
import { releaseThreadMemory } from './WorkerPool.js';
import type { Logger, Sink, TransformDecoder } from './types.js';

/** Reads part `seq` of a backup's stream as plaintext; into `into` (see PartReader.readPlain) when given. */
export type ReadPart = (manifest: Manifest, seq: number, into?: SharedArrayBuffer) => Promise<Buffer>;

/** How a part is named in messages: `part 2 of 5`. */
export const partLabel = (manifest: Manifest, seq: number): string => `part ${seq + 1} of ${manifest.parts.length}`;

/**
 * Reads what a backup stored, checked: each object from the first sink whose copy has the recorded size and
 * SHA-256 (fetch), then decoded by the transforms the manifest names (untransform), whatever today's config says
 * (`readPlain`).
 */
export class PartReader {
  /** Memory stored objects are read into (Sink.readInto), reused from object to object: one per read in flight. */
  private readonly storedSlots: SharedArrayBuffer[] = [];

  constructor(
    private readonly sinks: Sink[],
    private readonly decoderFor: (name: string) => TransformDecoder | undefined,
    private readonly log: Logger,
    /** Parts fetched and decoded ahead of the one being read (`[backup] concurrency`). */
    private readonly readAhead = 2,
  ) {}

  /**
   * Throws what decoding the backup would throw for a reason of this host, not of the data (no plugin for a
   * transform, a key it lacks), without reading anything.
   */
  async checkDecodable(manifest: ManifestHead): Promise<void> {
    for (const transform of manifest.transforms) {
      const decoder = this.decoderFor(transform.name);
      if (!decoder) throw noDecoder(manifest, transform);
      await decoder.ready?.(transform.params);
    }
  }

  /**
   * The bytes a part's memory needs to hold the part decoded, and, when every decoder can decode in place
   * (DecoderWorker.headroom), its stored object at the end too (`inPlace`).
   */
  partMemory(manifest: ManifestHead, part: PartRecord): { bytes: number; inPlace: boolean } {
    const workers = this.stepsOf(manifest).map((step) => step.worker);
    if (!workers.every((worker) => worker.headroom)) return { bytes: part.size, inPlace: false };
    const headroom = workers.reduce((sum, worker) => sum + worker.headroom!(part.size), 0);
    return { bytes: Math.max(part.storedSize, part.size + headroom), inPlace: true };
  }

  /** The decoders that undo the manifest's transforms, last applied first. */
  private stepsOf(manifest: ManifestHead): DecodeStep[] {
    return [...manifest.transforms].reverse().map((transform) => {
      const decoder = this.decoderFor(transform.name);
      if (!decoder) throw noDecoder(manifest, transform);
      return { worker: decoder.worker, params: transform.params };
    });
  }

  /** The plain bytes of a decode that did not find a checksum mismatch, checked against the size the manifest records; a failed step as one line. */
  private decoded(manifest: ManifestHead, part: PartRecord, outcome: DecodeOutcome, where: string): Buffer {
    if ('failed' in outcome) {
      const { error, failed } = outcome;
      if (error instanceof RastError) throw error;
      const transform = [...manifest.transforms].reverse()[failed]!;
      throw partUndecodable(manifest.id, where, part.key, transform.name, error);
    }
    const { data } = outcome as { data: Buffer };
    if (data.length !== part.size) {
      throw partSizeWrong(manifest.id, where, part.key, data.length, part.size);
    }
    return data;
  }

  /**
   * fetch → untransform of one object, from the first sink whose copy has the recorded size and SHA-256. The
   * checksum is computed in the worker thread that decodes, in the same job (one pass over the bytes); a copy
   * that does not match is skipped for the next sink. `good` hears which sink's copy was read and checked.
   * With `into`, the plain bytes are decoded into that memory (when they fit) and returned as a view of it;
   * when it is as large as `partMemory` says and decoding in place can be done, the stored object is read into
   * its end and decoded there.
   */
  async readPlain(
    manifest: ManifestHead,
    part: PartRecord,
    label: string,
    good?: (sink: Sink) => void,
    into?: SharedArrayBuffer,
  ): Promise<Buffer> {
    const steps = this.stepsOf(manifest);
    const problems: string[] = [];
    let missing = 0;
    const bad = (sink: Sink, message: string) => {
      problems.push(`${sink.name}: ${message}`);
      this.log.warn(`backup ${manifest.id}, ${label}: damaged in sink ${sink.name} (${message}); trying the next sink`);
    };
    const memory = into && this.partMemory(manifest, part);
    const inPlace = memory !== undefined && memory.inPlace && into!.byteLength >= memory.bytes;
    for (const sink of this.sinks) {
      const stored = !sink.readInto ? undefined : inPlace ? into : this.storedSlot(part.storedSize);
      const slot = stored === into ? undefined : stored;
      try {
        let data: Buffer;
        let size: number;
        try {
          if (stored) {
            const at = stored === into ? stored.byteLength - part.storedSize : 0;
            size = await sink.readInto!(part.key, Buffer.from(stored, at, part.storedSize));
            data = Buffer.from(stored, at, Math.min(size, part.storedSize));
          } else {
            collectIfGrown(); // read into memory of its own, garbage once decoded
            size = (data = await sink.get(part.key)).length;
          }
        } catch (error) {
          if (error instanceof RastError && error.code === ErrorCode.PART_MISSING) missing++;
          problems.push(`${sink.name}: ${(error as Error).message}`);
          continue;
        }
        if (size !== part.storedSize) {
          bad(sink, `size ${size}, expected ${part.storedSize}`);
          continue;
        }
        // The decoded bytes never alias a stored slot: the worker copies them out of shared memory it was not given as `into`.
        const outcome = await decodeSteps(steps, data, { key: part.key }, part.sha256, into);
        if ('mismatch' in outcome) {
          bad(sink, `SHA-256 ${outcome.mismatch.slice(0, 12)}…, expected ${part.sha256.slice(0, 12)}…`);
          continue;
        }
        const plain = this.decoded(manifest, part, outcome, `${label} (${part.key}) in sink ${sink.name}`);
        good?.(sink);
        return plain;
      } finally {
        if (slot) this.storedSlots.push(slot);
      }
    }
    const damaged = missing < problems.length;
    throw partUnreadable(manifest.id, label, part.key, problems, damaged);
  }

  /** A free slot for a stored object of `size` bytes, or a new one (a whole number of MiB) when none is large enough. */
  private storedSlot(size: number): SharedArrayBuffer {
    const at = this.storedSlots.findIndex((slot) => slot.byteLength >= size);
    if (at >= 0) return this.storedSlots.splice(at, 1)[0]!;
    this.storedSlots.pop(); // too small: dropped, so that their number stays that of the reads in flight
    return new SharedArrayBuffer(Math.ceil(size / 2 ** 20) * 2 ** 20);
  }

  /** Part `seq` of the backup's stream, fetched and untransformed. */
  readonly readPart: ReadPart = (manifest, seq, into) =>
    this.readPlain(manifest, manifest.parts[seq]!, partLabel(manifest, seq), undefined, into);

  /** Reads spans of the backup's plaintext stream, reading (with `readPart`) only the parts that hold them. */
  rangeReader(manifest: Manifest, readPart: ReadPart = this.readPart): StreamRangeReader {
    return new StreamRangeReader(manifest, (seq) => readPart(manifest, seq), this.readAhead);
  }

  /**
   * The backup's plaintext stream, part by part (with `readPart`); up to `readAhead` parts (or `ahead`, when
   * given) are read ahead. The parts are read and decoded into a fixed set of `ahead + 1` buffers of shared
   * memory (partMemory), each used again once the consumer asks for the chunk after it: a consumer keeps no chunk
   * past the next.
   */
  async *openStream(manifest: Manifest, readPart: ReadPart = this.readPart, ahead = this.readAhead): AsyncIterable<Buffer> {
    const capacity = manifest.parts.reduce((largest, part) => Math.max(largest, this.partMemory(manifest, part).bytes), 0);
    const free: SharedArrayBuffer[] = [];
    const read = (seq: number) => {
      const slot = free.pop() ?? new SharedArrayBuffer(capacity);
      const reading = readPart(manifest, seq, slot).then((data) => ({ data, slot }));
      reading.catch(() => {});
      return reading;
    };
    const inFlight: Array<Promise<{ data: Buffer; slot: SharedArrayBuffer }>> = [];
    let requested = 0;
    const fill = () => {
      while (requested < manifest.parts.length && inFlight.length < ahead) inFlight.push(read(requested++));
    };
    fill();
    while (inFlight.length > 0) {
      const next = inFlight.shift()!;
      // What the consumer let go of while it read the part before (a tree's pages written out) is given back.
      collectIfGrown();
      fill(); // `ahead` parts are decoded while the consumer uses this one
      const { data, slot } = await next;
      yield data;
      free.push(slot);
      // A part not decoded into its slot (too large: damaged) was moved here from a worker: free it while young.
      if (data.buffer !== slot) collectYoungGarbage();
    }
    // The buffers go before the consumer's next phase grows (a plain SharedArrayBuffer is unmapped when collected,
    // in every thread that saw it: the worker threads collect too).
    free.length = 0;
    await releaseThreadMemory();
    collectAllGarbage();
  }
}

function noDecoder(manifest: ManifestHead, transform: Manifest['transforms'][number]): RastError {
  return transformMissing(manifest.id, transform.name, transform.plugin);
}
