import path from 'node:path';
import type tar from 'tar-stream';
import type { Segment } from './DataSegments.js';

/**
 * Sparse files in GNU tar's PAX format 1.0 (what `tar --sparse --sparse-version=1.0` writes, and every GNU tar
 * since 1.15.92 extracts): pax records GNU.sparse.major=1, GNU.sparse.minor=0, GNU.sparse.name (the real path)
 * and GNU.sparse.realsize; the entry's own name is `<dir>/GNUSparseFile.0/<name>`, its data the sparse map (the
 * number of segments, then each segment's offset and length, one decimal number a line, zero-padded to a
 * 512-byte block) followed by the segments' data. A file that ends in a hole ends its map with (size, 0).
 */

const BLOCK = 512;

const paxOf = (header: tar.Header): Record<string, string> => (header.pax ?? {}) as Record<string, string>;

/** The header and the leading map block of a sparse entry for `header`, a file of `realSize` bytes holding `segments`. */
export function sparseEntry(header: tar.Header, realSize: number, segments: Segment[]): { header: tar.Header; map: Buffer } {
  const last = segments.at(-1);
  const all = last && last.offset + last.length === realSize ? segments : [...segments, { offset: realSize, length: 0 }];
  const text = Buffer.from([all.length, ...all.flatMap((segment) => [segment.offset, segment.length])].join('\n') + '\n');
  const map = Buffer.alloc(Math.ceil(text.length / BLOCK) * BLOCK);
  text.copy(map);
  const directory = path.posix.dirname(header.name);
  const name = `${directory === '.' ? '' : `${directory}/`}GNUSparseFile.0/${path.posix.basename(header.name)}`;
  const data = segments.reduce((sum, segment) => sum + segment.length, 0);
  const pax = {
    ...paxOf(header),
    'GNU.sparse.major': '1',
    'GNU.sparse.minor': '0',
    'GNU.sparse.name': header.name,
    'GNU.sparse.realsize': String(realSize),
  };
  return { header: { ...header, name, size: map.length + data, pax }, map };
}

/** Whether a header read from a stream is that of a PAX 1.0 sparse entry. */
export function isSparse(header: tar.Header): boolean {
  return paxOf(header)['GNU.sparse.major'] === '1' && paxOf(header)['GNU.sparse.minor'] === '0';
}

/** The path of an entry as written: a sparse entry's GNU.sparse.name, or its name. */
export function entryName(header: tar.Header): string {
  return isSparse(header) ? (paxOf(header)['GNU.sparse.name'] ?? header.name) : header.name;
}

/** The size of the file an entry holds (a sparse entry's real size, not the bytes it stores). */
export function fileSize(header: tar.Header): number {
  return isSparse(header) ? Number(paxOf(header)['GNU.sparse.realsize']) : (header.size ?? 0);
}

export class BadSparseMap extends Error {}

/**
 * The data of a file entry, each chunk with its offset in the file: a sparse entry's segments (what lies
 * between them is a hole), or a plain entry's bytes in order. Throws BadSparseMap for a map that does not fit
 * the entry.
 */
export async function* fileData(header: tar.Header, body: AsyncIterable<Buffer>): AsyncGenerator<{ position: number; chunk: Buffer }> {
  if (!isSparse(header)) {
    let position = 0;
    for await (const chunk of body) {
      yield { position, chunk };
      position += chunk.length;
    }
    return;
  }
  const realSize = fileSize(header);
  let pending = Buffer.alloc(0);
  let segments: Segment[] | undefined;
  let segment = 0;
  let within = 0;
  for await (const chunk of body) {
    let rest = chunk;
    if (!segments) {
      pending = Buffer.concat([pending, chunk]);
      const parsed = parseMap(pending, realSize);
      if (!parsed) {
        if (pending.length > 1024 * 1024) throw new BadSparseMap('its sparse map is longer than 1 MiB');
        continue;
      }
      segments = parsed.segments;
      const data = segments.reduce((sum, each) => sum + each.length, 0);
      if (parsed.blockLength + data !== header.size)
        throw new BadSparseMap(`its sparse map lists ${data} bytes of data, its entry holds ${(header.size ?? 0) - parsed.blockLength}`);
      rest = pending.subarray(parsed.blockLength);
    }
    while (rest.length > 0) {
      while (segment < segments.length && segments[segment]!.length === within) {
        segment += 1;
        within = 0;
      }
      if (segment === segments.length) throw new BadSparseMap('its entry holds more data than its sparse map lists');
      const current = segments[segment]!;
      const take = Math.min(rest.length, current.length - within);
      yield { position: current.offset + within, chunk: rest.subarray(0, take) };
      within += take;
      rest = rest.subarray(take);
    }
  }
  if (!segments) throw new BadSparseMap('its sparse map is cut short');
}

/** The map at the start of `bytes` and the length of its blocks, or undefined while it is incomplete. */
function parseMap(bytes: Buffer, realSize: number): { segments: Segment[]; blockLength: number } | undefined {
  const numbers: number[] = [];
  let at = 0;
  for (;;) {
    const newline = bytes.indexOf(0x0a, at);
    if (newline < 0) return undefined;
    const text = bytes.toString('latin1', at, newline);
    if (!/^\d{1,16}$/.test(text))
      throw new BadSparseMap(`its sparse map holds ${JSON.stringify(text.slice(0, 20))} where a number belongs`);
    numbers.push(Number(text));
    at = newline + 1;
    if (numbers.length === 1 + 2 * numbers[0]!) break;
  }
  const blockLength = Math.ceil(at / BLOCK) * BLOCK;
  if (bytes.length < blockLength) return undefined;
  const segments: Segment[] = [];
  let end = 0;
  for (let i = 1; i < numbers.length; i += 2) {
    const segment = { offset: numbers[i]!, length: numbers[i + 1]! };
    if (segment.offset < end || segment.offset + segment.length > realSize)
      throw new BadSparseMap(
        `its sparse map has a segment (${segment.offset}, ${segment.length}) out of order or past the file's ${realSize} bytes`,
      );
    end = segment.offset + segment.length;
    segments.push(segment);
  }
  return { segments, blockLength };
}
