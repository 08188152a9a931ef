import { indexPath, isBinaryPath, pathBytes } from '@rast-backup/core';
import tar from 'tar-stream';

/**
 * Names that are not UTF-8 in tar streams. tar-stream reads and writes pax records as UTF-8 text, so such an
 * entry gets a pax header written here, with the raw bytes in `path` and `linkpath` as GNU tar writes them
 * (GNU tar extracts them as they are; it does not know `hdrcharset`), followed by a plain ustar header whose
 * name and link name are ASCII stand-ins; and `path`/`linkpath` records are read back from their bytes.
 */

/** One pax record: `<length> <key>=<value>\n`, the length counting itself. */
function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let length = body.length + 1;
  while (String(length).length + body.length > length) length += 1;
  return Buffer.concat([Buffer.from(String(length)), body]);
}

/** The records of a pax header body, values as bytes. */
export function paxRecords(body: Buffer): Map<string, Buffer> {
  const records = new Map<string, Buffer>();
  for (let at = 0; at < body.length;) {
    const space = body.indexOf(0x20, at);
    const length = Number(body.toString('latin1', at, space));
    if (space < 0 || !Number.isInteger(length) || length <= space - at || at + length > body.length) break;
    const record = body.subarray(space + 1, at + length - 1);
    const equals = record.indexOf(0x3d);
    if (equals > 0) records.set(record.toString('utf8', 0, equals), record.subarray(equals + 1));
    at += length;
  }
  return records;
}

/** Whether a tar header names bytes that are not UTF-8 (its name or link name), needing `binaryNameHeaders`. */
export function hasBinaryName(header: tar.Header): boolean {
  return isBinaryPath(header.name) || (header.linkname !== undefined && header.linkname !== null && isBinaryPath(header.linkname));
}

/** An ASCII stand-in for the ustar fields (which readers ignore when the pax header names the entry). */
function standIn(path: string): string {
  return pathBytes(path)
    .toString('latin1')
    .replace(/[^\x20-\x7e]/g, '_')
    .slice(-99);
}

/** A ustar header block, as tar-stream writes them, of type `x`: the pax extended header for the next entry. */
function paxHeaderBlock(size: number, mtime: Date): Buffer {
  const block = Buffer.alloc(512);
  const octal = (value: number, offset: number, length: number) =>
    block.write(value.toString(8).padStart(length - 1, '0') + '\0', offset, 'latin1');
  block.write('PaxHeader', 0, 'latin1');
  octal(0o644, 100, 8);
  octal(0, 108, 8);
  octal(0, 116, 8);
  octal(size, 124, 12);
  octal(Math.max(0, Math.floor(mtime.getTime() / 1000)), 136, 12);
  block.write('x', 156, 'latin1');
  block.write('ustar\x0000', 257, 'latin1');
  block.fill(0x20, 148, 156);
  const checksum = block.reduce((sum, byte) => sum + byte, 0);
  block.write(checksum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
  return block;
}

/**
 * Writes `header` with exact names: returns the pax header (its block, its records, the padding) to go into the
 * stream right before the entry, and the entry's own ustar header (with ASCII stand-ins and no pax of its own).
 */
export function binaryNameHeaders(header: tar.Header): { pax: Buffer; entry: tar.Header } {
  const records = [paxRecord('path', pathBytes(header.name))];
  if (header.linkname) records.push(paxRecord('linkpath', pathBytes(header.linkname)));
  // Values are index paths or plain text (a sparse file's GNU.sparse.name is a path too): their bytes.
  for (const [key, value] of Object.entries(header.pax ?? {})) records.push(paxRecord(key, pathBytes(value)));
  const body = Buffer.concat(records);
  const padding = Buffer.alloc((512 - (body.length % 512)) % 512);
  const entry = { ...header, name: standIn(header.name), ...(header.linkname && { linkname: standIn(header.linkname) }) };
  delete entry.pax;
  return { pax: Buffer.concat([paxHeaderBlock(body.length, header.mtime ?? new Date(0)), body, padding]), entry };
}

type ExtractInternals = tar.Extract & { _header: tar.Header; _pax: Record<string, string> | null; _decodeLongHeader(buffer: Buffer): void };
const Extract = Object.getPrototypeOf(tar.extract()).constructor as new (options?: object) => ExtractInternals;
if (typeof Extract.prototype._decodeLongHeader !== 'function')
  throw new Error('tar-stream no longer has Extract._decodeLongHeader: update BinaryPaxNames');

/** tar-stream's extractor, but pax `path` and `linkpath` are read from their bytes into index paths. */
export function binaryNameExtract(): tar.Extract {
  return new (class extends Extract {
    override _decodeLongHeader(buffer: Buffer): void {
      super._decodeLongHeader(buffer);
      if ((this._header.type as string) !== 'pax-header' || !this._pax) return;
      const records = paxRecords(buffer);
      for (const key of ['path', 'linkpath', 'GNU.sparse.name']) {
        const value = records.get(key);
        if (value) this._pax[key] = indexPath(value);
      }
    }
  })();
}
