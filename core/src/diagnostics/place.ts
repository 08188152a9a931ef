import type { Sink } from '../types.js';

/** How every diagnostic names a sink: `sink NAME (LOCATION)`, or `KIND sink NAME (LOCATION)` (`local sink local (/srv/backup)`). */
export function sinkPlace(sink: Pick<Sink, 'name' | 'location'>, kind?: string): string {
  return `${kind ? `${kind} ` : ''}sink ${sink.name} (${sink.location})`;
}

/** How every diagnostic names the config in use: its file, or the embedded default. */
export function configPlace(file: string | null | undefined): string {
  return file ?? 'embedded default config';
}

/** An error's own one line, whatever was thrown. */
export function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
