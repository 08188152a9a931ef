import { randomBytes } from 'node:crypto';
import prettyBytes from 'pretty-bytes';
import type { Writable } from 'node:stream';
import { displayPath, type IndexEntry } from '@rast-backup/core';

export const formatBytes = (bytes: number) => prettyBytes(bytes, { binary: true });

export async function* mapped<T, U>(items: AsyncIterable<T>, map: (item: T) => U): AsyncGenerator<U> {
  for await (const item of items) yield map(item);
}

/** Writes chunks of text to `stdout` in batches, waiting whenever it is full: memory stays flat for any number of lines. */
export async function writeAll(stdout: Writable, chunks: AsyncIterable<string>): Promise<void> {
  let batch = '';
  const send = async () => {
    if (!stdout.write(batch)) await new Promise((resolve) => stdout.once('drain', resolve));
    batch = '';
  };
  for await (const chunk of chunks) {
    batch += chunk;
    if (batch.length >= 65536) await send();
  }
  if (batch.length > 0) await send();
}

/**
 * Writes `value` as writeJson does, with `items` streamed in as its member `key`, followed by the members of
 * `after()` (read once the items are written: counts of them, for example).
 */
export async function writeJsonWith(
  stdout: Writable,
  value: object,
  key: string,
  items: AsyncIterable<unknown>,
  after: () => object = () => ({}),
): Promise<void> {
  // The member keeps its place in `value` (JSON keeps the first place of a key): a marker stands for it.
  const marker = `"${randomBytes(16).toString('hex')}"`;
  const whole = JSON.stringify({ ...value, [key]: JSON.parse(marker) }, null, 2);
  const cut = whole.indexOf(marker);
  async function* text() {
    yield `${whole.slice(0, cut)}[`;
    let first = true;
    for await (const item of items) {
      yield `${first ? '' : ','}\n    ${JSON.stringify(item, null, 2).replaceAll('\n', '\n    ')}`;
      first = false;
    }
    const tail = JSON.stringify(after(), null, 2).slice(1, -1).trim();
    yield `${first ? '' : '\n  '}]${tail ? `,\n  ${tail}` : ''}${whole.slice(cut + marker.length)}\n`;
  }
  await writeAll(stdout, text());
}

/** Writes one JSON document to stdout (the `--json` contract: nothing else goes there). */
export function writeJson(stdout: Writable, value: unknown): void {
  stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** An index's mtime (nanoseconds since the epoch, decimal) as an ISO-8601 time, to the millisecond. */
export const formatMtime = (mtime: string): string => new Date(Number(BigInt(mtime) / 1_000_000n)).toISOString();

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
