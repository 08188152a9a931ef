import prettyBytes from 'pretty-bytes';
import type { Writable } from 'node:stream';

export const formatBytes = (bytes: number) => prettyBytes(bytes, { binary: true });

/** Writes one JSON document to stdout (the `--json` contract: nothing else goes there). */
export function writeJson(stdout: Writable, value: unknown): void {
  stdout.write(JSON.stringify(value, null, 2) + '\n');
}
