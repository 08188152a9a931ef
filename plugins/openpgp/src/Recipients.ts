/** One key a backup is encrypted to, as the manifest's `openpgp` params record it. */
export interface RecordedRecipient {
  /** Primary key fingerprint. */
  recipient: string;
  /** Fingerprint of the (sub)key the session keys are encrypted to. */
  encryptionKey: string;
}

/**
 * The primary key fingerprints a backup is encrypted to, from its `openpgp` params: `recipients` when it was
 * encrypted to several keys, else `recipient` (free of openpgp.js, for `info`).
 */
export function recipientsOf(params: Record<string, unknown>): string[] {
  if (Array.isArray(params.recipients))
    return (params.recipients as RecordedRecipient[]).map((entry) => entry?.recipient).filter((value) => typeof value === 'string');
  return typeof params.recipient === 'string' ? [params.recipient] : [];
}
