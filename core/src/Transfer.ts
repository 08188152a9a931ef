/**
 * What a transform may move to a worker thread instead of copying: the ArrayBuffer of a Buffer that owns all
 * of it (a part), never one that shares memory (a view into a larger buffer, a small pooled Buffer).
 */
export function transferList(data: Uint8Array): ArrayBuffer[] {
  return data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer ? [data.buffer] : [];
}
