import { readFileSync } from 'node:fs';
import { indexPath } from '@rast-backup/core';

/**
 * The command's arguments with their exact bytes: Node decodes argv as UTF-8, each invalid byte becoming
 * U+FFFD, so `create $'/srv/lat\xe9'` would name another path. The bytes are read back from
 * /proc/self/cmdline (whose last arguments are ours) and made index paths (bytes that are not UTF-8 escaped,
 * see IndexPath). Where that file cannot be read, or does not end with the same arguments, argv is used as is.
 */
export function commandLineArguments(argv: string[] = process.argv.slice(2)): string[] {
  let raw: Buffer;
  try {
    raw = readFileSync('/proc/self/cmdline');
  } catch {
    return argv;
  }
  const all: Buffer[] = [];
  for (let at = 0; at < raw.length;) {
    const end = raw.indexOf(0, at);
    all.push(raw.subarray(at, end < 0 ? raw.length : end));
    at = end < 0 ? raw.length : end + 1;
  }
  const ours = all.slice(all.length - argv.length);
  if (ours.length !== argv.length || ours.some((bytes, i) => bytes.toString('utf8') !== argv[i])) return argv;
  return ours.map((bytes) => indexPath(bytes));
}
