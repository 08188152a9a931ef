import { getSystemErrorName } from 'node:util';
import { createRequire } from 'node:module';

const ENODATA = 61;
const ENOTSUP = 95;
/** The largest list or value Linux gives (XATTR_LIST_MAX, XATTR_SIZE_MAX). */
const LARGEST = 64 * 1024;

type ListXattr = (path: Buffer, list: Buffer, size: number) => number;
type GetXattr = (path: Buffer, name: Buffer, value: Buffer, size: number) => number;
let calls: { list: ListXattr; get: GetXattr; errno: () => number } | undefined;
/** Reused by every call; the bytes are copied out. */
let scratch: Buffer | undefined;

/** An xattr that could not be read (`attribute` absent: the list itself), with its errno's name. */
export interface XattrFailure {
  attribute?: string;
  code: string;
}

export interface EntryXattrs {
  /** Name → base64 value, names sorted; absent when the entry has none. */
  xattrs?: Record<string, string>;
  /** Reads that failed for a reason other than "no xattrs here" (not supported by the filesystem, or removed meanwhile). */
  failures?: XattrFailure[];
}

const cString = (bytes: Buffer) => Buffer.concat([bytes, Buffer.alloc(1)]);

function libc() {
  if (!calls) {
    // Loaded on first use: commands that read no directory tree never load it.
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    const lib = koffi.load(null);
    calls = {
      errno: () => koffi.errno(),
      list: lib.func('intptr_t llistxattr(const void *path, _Out_ void *list, size_t size)') as ListXattr,
      get: lib.func('intptr_t lgetxattr(const void *path, const void *name, _Out_ void *value, size_t size)') as GetXattr,
    };
  }
  return calls;
}

/** A call's bytes, or its errno. Linux gives no list nor value over 64 KiB (E2BIG past that), so they always fit. */
function bytesOf(call: (into: Buffer, size: number) => number): Buffer | number {
  scratch ??= Buffer.allocUnsafeSlow(LARGEST);
  const length = call(scratch, scratch.length);
  return length >= 0 ? Buffer.from(scratch.subarray(0, length)) : libc().errno();
}

/** The NUL-terminated names of a list, each as text (sorted by it) and as the bytes to ask for it by. */
function namesOf(list: Buffer): { name: string; bytes: Buffer }[] {
  const names: { name: string; bytes: Buffer }[] = [];
  for (let start = 0; start < list.length;) {
    const end = list.indexOf(0, start);
    const stop = end < 0 ? list.length : end;
    if (stop > start) names.push({ name: list.toString('utf8', start, stop), bytes: cString(list.subarray(start, stop)) });
    start = stop + 1;
  }
  return names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

const normal = (errno: number) => errno === ENOTSUP || errno === ENODATA;
const failure = (errno: number, attribute?: string): XattrFailure =>
  attribute === undefined ? { code: getSystemErrorName(-errno) } : { attribute, code: getSystemErrorName(-errno) };

/**
 * An entry's xattrs, by the bytes of its path (a name need not be UTF-8), without following a symlink. The
 * failures are told apart by errno: no xattrs (ENOTSUP, ENODATA) is normal; anything else (EACCES, EIO…) is
 * returned, for the caller to report, never dropped silently.
 */
export function readXattrs(path: Buffer): EntryXattrs {
  const { list, get } = libc();
  const target = cString(path);
  const names = bytesOf((into, size) => list(target, into, size));
  if (typeof names === 'number') return normal(names) ? {} : { failures: [failure(names)] };
  if (names.length === 0) return {};
  const xattrs: Record<string, string> = {};
  const failures: XattrFailure[] = [];
  let found = false;
  for (const { name, bytes } of namesOf(names)) {
    const value = bytesOf((into, size) => get(target, bytes, into, size));
    if (typeof value === 'number') {
      if (!normal(value)) failures.push(failure(value, name));
      continue;
    }
    xattrs[name] = value.toString('base64');
    found = true;
  }
  return { ...(found ? { xattrs } : {}), ...(failures.length > 0 ? { failures } : {}) };
}

/** One line per failure, naming the path and the xattr: `shown` is the path as messages show it. */
export function xattrWarnings(shown: string, failures: XattrFailure[]): string[] {
  return failures.map(({ attribute, code }) =>
    attribute === undefined
      ? `${shown}: extended attributes not backed up: listing them failed (${code})`
      : `${shown}: extended attribute ${attribute} not backed up: reading it failed (${code})`,
  );
}
