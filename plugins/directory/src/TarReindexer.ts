import {
  IndexSpool,
  indexNotRebuilt,
  streamDamaged,
  type EntryType,
  type IndexEntry,
  type RebuiltIndex,
  type ReindexContext,
} from '@rast-backup/core';
import { fromPaxTime } from './EntryDescription.js';
import { tarEntries } from './TarEntries.js';

const BLOCK = 512;

const ENTRY_TYPES: Record<string, EntryType> = {
  file: 'file',
  directory: 'directory',
  symlink: 'symlink',
  link: 'hardlink',
  fifo: 'fifo',
  'character-device': 'char-device',
  'block-device': 'block-device',
};

/** A ustar size field: octal text, or base-256 when its first byte has the high bit. */
function fieldSize(field: Buffer): number {
  if (field[0]! & 0x80) {
    let value = 0;
    for (const byte of field.subarray(1)) value = value * 256 + byte;
    return value;
  }
  const text = field
    .toString('latin1')
    .replace(/[\0 ]+$/, '')
    .trim();
  return text === '' ? 0 : parseInt(text, 8);
}

/**
 * Where each entry lies in a tar byte stream: from its first header block (a pax header `x`, or a GNU long
 * name, counts as the start of the entry it describes) to the end of its data's padding, as serialize records
 * an entry's span. Fed the stream's chunks in order; the spans come in the order of the entries.
 */
class TarSpans {
  readonly spans: Array<{ start: number; end: number }> = [];
  private offset = 0;
  private header = Buffer.alloc(0);
  private skip = 0;
  private pax: Buffer[] | undefined;
  private entryStart: number | undefined;
  private paxSize: number | undefined;
  private ended = false;

  push(chunk: Buffer): void {
    for (let at = 0; at < chunk.length && !this.ended;) {
      if (this.skip > 0) {
        const taken = Math.min(this.skip, chunk.length - at);
        this.pax?.push(chunk.subarray(at, at + taken));
        at += taken;
        this.skip -= taken;
        this.offset += taken;
        if (this.skip === 0 && this.pax) this.readPax();
        continue;
      }
      const taken = Math.min(BLOCK - this.header.length, chunk.length - at);
      this.header = Buffer.concat([this.header, chunk.subarray(at, at + taken)]);
      at += taken;
      this.offset += taken;
      if (this.header.length === BLOCK) this.readHeader();
    }
  }

  private readHeader(): void {
    const header = this.header;
    this.header = Buffer.alloc(0);
    if (header.every((byte) => byte === 0)) {
      this.ended = true;
      return;
    }
    const start = this.offset - BLOCK;
    const type = String.fromCharCode(header[156]!);
    let size = fieldSize(header.subarray(124, 136));
    if (type === 'x' || type === 'g' || type === 'L' || type === 'K') {
      this.entryStart ??= start;
      if (type === 'x') this.pax = [];
    } else {
      size = this.paxSize ?? size;
      this.spans.push({ start: this.entryStart ?? start, end: this.offset + Math.ceil(size / BLOCK) * BLOCK });
      this.entryStart = undefined;
      this.paxSize = undefined;
    }
    this.skip = Math.ceil(size / BLOCK) * BLOCK;
    if (this.skip === 0 && this.pax) this.readPax();
  }

  private readPax(): void {
    const text = Buffer.concat(this.pax!).toString('latin1');
    this.pax = undefined;
    const size = /(?:^|\n)\d+ size=(\d+)\n/.exec(text)?.[1];
    if (size !== undefined) this.paxSize = Number(size);
  }
}

/**
 * A full tar backup's file index from its stored stream: every entry with its span. The stream does not hold
 * what only the index keeps (ctime, inode numbers, extended attributes), so the rebuilt index lacks them; an
 * incremental's stream does not record the paths deleted since its parent, so its index cannot be rebuilt.
 */
export async function reindexTree(context: ReindexContext): Promise<RebuiltIndex> {
  const { manifest } = context;
  const id = manifest.id;
  if (manifest.parent !== null)
    throw indexNotRebuilt(
      id,
      'it is a tar incremental: its stream does not record the paths deleted since its parent, so its file index cannot be rebuilt from it',
    );
  const spans = new TarSpans();
  const counted = async function* () {
    for await (const chunk of context.stream) {
      spans.push(chunk);
      yield chunk;
    }
  };
  const records = new IndexSpool();
  let count = 0;
  try {
    for await (const { path, header, size } of tarEntries(counted(), id)) {
      const span = spans.spans[count++];
      const type = ENTRY_TYPES[header.type ?? ''];
      if (!type || !span) throw streamDamaged(id, `${path}: an entry of type ${header.type} this format does not write`);
      const pax: Record<string, string> = (header.pax as Record<string, string> | undefined) ?? {};
      const entry: IndexEntry = {
        path,
        type,
        size: type === 'file' ? size : 0,
        mode: (header.mode ?? 0) & 0o7777,
        uid: Number(pax.uid ?? header.uid ?? 0),
        gid: Number(pax.gid ?? header.gid ?? 0),
        mtime: pax.mtime ? fromPaxTime(pax.mtime) : String(BigInt(header.mtime?.getTime() ?? 0) * 1_000_000n),
        from: id,
      };
      if (type === 'symlink') entry.target = header.linkname ?? '';
      if (type === 'hardlink') entry.linkTo = header.linkname ?? '';
      if (type === 'char-device' || type === 'block-device') Object.assign(entry, { devMajor: header.devmajor, devMinor: header.devminor });
      if (type === 'file') entry.ranges = [{ from: id, start: span.start, end: span.end, path }];
      await records.add(entry);
    }
  } catch (error) {
    await records.close();
    throw error;
  }
  return { index: { backupId: id, spool: records }, lacks: 'ctime, inode numbers and extended attributes' };
}
