/**
 * Transforms run in stage order on create (lowest first) and in reverse on restore, whatever order the
 * plugins were configured in.
 */
export const TransformStage = Object.freeze({
  /** Make the bytes smaller (zstd). Must run before encryption: ciphertext does not compress. */
  COMPRESS: 100,
  /** Make the bytes unreadable without a key (OpenPGP). */
  ENCRYPT: 200,
});

/**
 * Snapshot sources answer in stage order; the first that handles a path wins. Specific sources (btrfs)
 * tap at SPECIFIC, catch-all sources (a plain directory) at FALLBACK.
 */
export const SourceStage = Object.freeze({
  SPECIFIC: -100,
  FALLBACK: 100,
});
