/**
 * @napi-rs/xattr throws plain Errors whose message ends with the text Rust's io::Error gives it, "No data
 * available (os error 61)". Nothing branches on it: the tail is only trimmed for a one-line report.
 */
const OS_ERROR = / \(os error \d+\)$/;

/** The failure's message without its "(os error N)" tail, for a one-line report. */
export function xattrReason(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(OS_ERROR, '');
}
