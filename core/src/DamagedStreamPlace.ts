import { streamDamagedInPart } from './diagnostics/index.js';
import { ErrorCode, RastError } from './errors.js';
import type { Manifest } from './Manifest.js';
import { partLabel } from './PartReader.js';

/**
 * Where in the stored objects a damaged stream is: a format's error from `streamDamagedInBackup` (its facts
 * name the backup and the byte, `offset`) gets the part holding that byte, its key, and the sink that part was
 * read from.
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
    const { offset, backup, problem } = error.facts;
    if (typeof offset !== 'number' || typeof backup !== 'string' || typeof problem !== 'string' || 'part' in error.facts) return error;
    const manifest = this.manifests.find(({ id }) => id === backup);
    if (!manifest) return error;
    let seq = 0;
    for (let start = 0; seq < manifest.parts.length - 1 && start + manifest.parts[seq]!.size <= offset; seq++)
      start += manifest.parts[seq]!.size;
    const part = manifest.parts[seq];
    if (!part) return error;
    return streamDamagedInPart(error, partLabel(manifest, seq), part.key, this.sinks.get(`${manifest.id}\0${seq}`));
  }
}
