import { constants } from 'node:os';

/**
 * @napi-rs/xattr throws plain Errors whose only trace of the errno is the text Rust's io::Error gives it,
 * "No data available (os error 61)"; these read it from there, in this one place.
 */
const OS_ERROR = / \(os error (\d+)\)$/;

/** The errno of an @napi-rs/xattr failure, or undefined when its message carries none. */
export function xattrErrno(error: unknown): number | undefined {
  const match = error instanceof Error ? OS_ERROR.exec(error.message) : null;
  return match ? Number(match[1]) : undefined;
}

/** The failure's message without its "(os error N)" tail, for a one-line report. */
export function xattrReason(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(OS_ERROR, '');
}

/** Removing an xattr the file does not have. */
export const isNoData = (error: unknown): boolean => xattrErrno(error) === constants.errno.ENODATA;
