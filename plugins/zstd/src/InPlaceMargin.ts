/** ZSTD_BLOCKSIZE_MAX: no block of a frame decodes to more. */
const BLOCK_SIZE_MAX = 128 * 1024;
/** ZSTD_FRAMEHEADERSIZE_MAX, and the 4 bytes of a frame's content checksum. */
const FRAME_HEADER_MAX = 18;
const CHECKSUM = 4;

/**
 * ZSTD_DECOMPRESSION_MARGIN (zstd.h, 1.5.4 and later): the bytes past `size` decoded bytes that libzstd needs to
 * decompress one frame in place, the frame lying at the end of the output memory.
 */
export function inPlaceMargin(size: number): number {
  return FRAME_HEADER_MAX + CHECKSUM + (size === 0 ? 0 : 3 * Math.ceil(size / BLOCK_SIZE_MAX)) + BLOCK_SIZE_MAX;
}
