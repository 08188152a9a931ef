import { ErrorCode, RastError } from './errors.js';
import type { Manifest } from './Manifest.js';
import { partLabel } from './PartReader.js';

/**
 * Where in the stored objects a damaged stream is: a format's STREAM_DAMAGED error that names a byte of a
 * backup's stream (its `offset` fact, its message beginning `backup <id>`) gets the part holding that byte,
 * its key, and the sink that part was read from.
 */
export class DamagedStreamPlace {
  /** The sink each part was read from: `<backup>\0<seq>` → sink name. */
  private readonly sinks = new Map<string, string>();

  constructor(private readonly manifests: Manifest[]) {}

  /** Part `seq` of `manifest` was read from sink `sink`. */
  read(manifest: Manifest, seq: number, sink: string): void {
    this.sinks.set(`${manifest.id}\0${seq}`, sink);
  }

  /** `error` with the part and sink in its message when it places damage in one of the streams; else `error` itself. */
  named(error: unknown): unknown {
    if (!(error instanceof RastError) || error.code !== ErrorCode.STREAM_DAMAGED) return error;
    const offset = error.facts.offset;
    if (typeof offset !== 'number' || 'part' in error.facts) return error;
    const manifest = this.manifests.find(({ id }) => error.message.startsWith(`backup ${id}`));
    if (!manifest) return error;
    let seq = 0;
    for (let start = 0; seq < manifest.parts.length - 1 && start + manifest.parts[seq]!.size <= offset; seq++)
      start += manifest.parts[seq]!.size;
    const part = manifest.parts[seq];
    if (!part) return error;
    const sink = this.sinks.get(`${manifest.id}\0${seq}`);
    const place = `backup ${manifest.id}, ${partLabel(manifest, seq)} (${part.key})${sink ? ` in sink ${sink}` : ''}`;
    const facts = { ...error.facts, backup: manifest.id, part: part.key, ...(sink ? { sink } : {}) };
    return new RastError(error.code, `${place}${error.message.slice(`backup ${manifest.id}`.length)}`, facts, { cause: error });
  }
}
