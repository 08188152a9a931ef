/**
 * `data` itself, or a copy when it is a view of shared memory (a read slot the core reuses): openpgp.js hands
 * what it reads to WebCrypto, which refuses shared memory. Only messages of a shape other than MessageWriter's
 * take this path.
 */
export function ownedCopy(data: Uint8Array): Uint8Array {
  return data.buffer instanceof SharedArrayBuffer ? new Uint8Array(data) : data;
}
