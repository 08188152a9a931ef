import prettyBytes from 'pretty-bytes';
import type { Writable } from 'node:stream';
import { displayPath, type IndexEntry } from '@rast-backup/core';

export const formatBytes = (bytes: number) => prettyBytes(bytes, { binary: true });

/** Writes one JSON document to stdout (the `--json` contract: nothing else goes there). */
export function writeJson(stdout: Writable, value: unknown): void {
  stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** One line of a file listing (`info --files`, `ls`): type, mode, owner, size, path and what it points at. */
export function formatEntry(file: IndexEntry): string {
  const mode = file.mode.toString(8).padStart(4, '0');
  const suffix =
    file.type === 'symlink'
      ? ` -> ${displayPath(file.target ?? '')}`
      : file.type === 'hardlink'
        ? ` => ${displayPath(file.linkTo ?? '')}`
        : '';
  return `${file.type.padEnd(12)} ${mode} ${String(file.uid).padStart(5)}:${String(file.gid).padEnd(5)} ${String(file.size).padStart(12)}  ${displayPath(file.path)}${suffix}`;
}
