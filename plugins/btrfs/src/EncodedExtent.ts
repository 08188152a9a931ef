import { createRequire } from 'node:module';
import { inflateSync, constants as zlibConstants } from 'node:zlib';

/** The compression numbers of ENCODED_WRITE (btrfs-progs send.h). */
const COMPRESSION = { NONE: 0, ZLIB: 1, ZSTD: 2, LZO_FIRST: 3, LZO_LAST: 7 } as const;
/** btrfs compresses at most 128 KiB per extent; anything far larger is a damaged or hostile stream. */
const MAX_UNENCODED = 16 * 1024 * 1024;

type ZstdBinding = { decompress(destination: Uint8Array, source: Uint8Array): number; findFrameCompressedSize(source: Uint8Array): number };
let zstd: ZstdBinding | undefined;

/** Why an encoded extent cannot be decoded; the caller adds the backup, offset and command. */
export class UndecodableExtent extends Error {}

/**
 * The `unencodedLength` bytes an ENCODED_WRITE's data stands for: zlib (one stream) or zstd (one frame,
 * followed by zero padding to the sector size); the rest of the buffer is zero-filled. LZO is not supported.
 */
export function decodeExtent(compression: number, data: Buffer, unencodedLength: number): Buffer {
  if (unencodedLength > MAX_UNENCODED)
    throw new UndecodableExtent(`an encoded extent of ${unencodedLength} bytes (more than ${MAX_UNENCODED})`);
  const output = Buffer.alloc(unencodedLength);
  if (compression === COMPRESSION.NONE) {
    data.copy(output, 0, 0, Math.min(data.length, unencodedLength));
    return output;
  }
  if (compression === COMPRESSION.ZLIB) {
    let inflated: Buffer;
    try {
      inflated = inflateSync(data, { finishFlush: zlibConstants.Z_SYNC_FLUSH, maxOutputLength: unencodedLength + 1 });
    } catch (error) {
      throw new UndecodableExtent(`zlib data that does not decompress (${(error as Error).message})`);
    }
    inflated.copy(output, 0, 0, Math.min(inflated.length, unencodedLength));
    return output;
  }
  if (compression === COMPRESSION.ZSTD) {
    zstd ??= createRequire(import.meta.url)('zstd-napi/binding.js') as ZstdBinding;
    try {
      const frame = data.subarray(0, zstd.findFrameCompressedSize(data));
      zstd.decompress(output, frame);
    } catch (error) {
      throw new UndecodableExtent(`zstd data that does not decompress (${(error as Error).message})`);
    }
    return output;
  }
  if (compression >= COMPRESSION.LZO_FIRST && compression <= COMPRESSION.LZO_LAST) {
    throw new UndecodableExtent(
      'an LZO-compressed extent (made by btrfs send --compressed-data of a file compressed with lzo); this receiver decodes zlib and zstd only: restore this backup onto btrfs as root, where btrfs receive is used',
    );
  }
  throw new UndecodableExtent(`an extent with unknown compression ${compression}`);
}
