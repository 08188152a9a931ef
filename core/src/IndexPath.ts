/**
 * File names on Linux are bytes, index paths are strings. A name that is valid UTF-8 is its own text; each byte
 * of one that is not part of a valid UTF-8 sequence becomes the lone surrogate U+DC80+byte ("surrogate escape",
 * as Python's os.fsdecode does). Lone surrogates never come from valid UTF-8, so the mapping is one-to-one;
 * JSON.stringify writes them as `\udcXX` and JSON.parse reads them back.
 */
const ESCAPE_BASE = 0xdc00;

/** An escaped byte: a low surrogate in U+DC80..U+DCFF that no high surrogate precedes (a pair is a real character). */
const ESCAPED = /(?<![\ud800-\udbff])[\udc80-\udcff]/g;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The length of the valid UTF-8 sequence starting at `at` (Unicode's table of well-formed sequences), or 0. */
function sequenceLength(bytes: Uint8Array, at: number): number {
  const first = bytes[at]!;
  if (first < 0x80) return 1;
  const tail = (offset: number, low = 0x80, high = 0xbf) =>
    at + offset < bytes.length && bytes[at + offset]! >= low && bytes[at + offset]! <= high;
  if (first >= 0xc2 && first <= 0xdf) return tail(1) ? 2 : 0;
  if (first >= 0xe0 && first <= 0xef) {
    const [low, high] = first === 0xe0 ? [0xa0, 0xbf] : first === 0xed ? [0x80, 0x9f] : [0x80, 0xbf];
    return tail(1, low, high) && tail(2) ? 3 : 0;
  }
  if (first >= 0xf0 && first <= 0xf4) {
    const [low, high] = first === 0xf0 ? [0x90, 0xbf] : first === 0xf4 ? [0x80, 0x8f] : [0x80, 0xbf];
    return tail(1, low, high) && tail(2) && tail(3) ? 4 : 0;
  }
  return 0;
}

/** Whether every byte is ASCII: such bytes are their own text in latin1, read without TextDecoder's cost. */
function isAscii(bytes: Uint8Array): boolean {
  for (let at = 0; at < bytes.length; at++) if (bytes[at]! > 0x7f) return false;
  return true;
}

/** A name or path as bytes (from the filesystem, a tar stream, a send stream) to its index path. */
export function indexPath(bytes: Uint8Array): string {
  if (Buffer.isBuffer(bytes) && isAscii(bytes)) return bytes.toString('latin1');
  try {
    return strictUtf8.decode(bytes);
  } catch {
    let text = '';
    for (let at = 0; at < bytes.length;) {
      const length = sequenceLength(bytes, at);
      if (length === 0) text += String.fromCharCode(ESCAPE_BASE + bytes[at]!);
      else text += Buffer.from(bytes.subarray(at, at + length)).toString('utf8');
      at += length || 1;
    }
    return text;
  }
}

/** An index path back to the exact bytes of the name. */
export function pathBytes(path: string): Buffer {
  if (!isBinaryPath(path)) return Buffer.from(path, 'utf8');
  const parts: Buffer[] = [];
  let run = '';
  for (const character of path) {
    const code = character.charCodeAt(0);
    if (character.length === 1 && code >= 0xdc80 && code <= 0xdcff) {
      parts.push(Buffer.from(run, 'utf8'), Buffer.from([code - ESCAPE_BASE]));
      run = '';
    } else run += character;
  }
  parts.push(Buffer.from(run, 'utf8'));
  return Buffer.concat(parts);
}

/** Whether an index path names bytes that are not valid UTF-8 (so that it cannot be handed to string-only APIs). */
export function isBinaryPath(path: string): boolean {
  return path.search(ESCAPED) >= 0;
}

/** Control characters (C0 and DEL), valid UTF-8 but not for a terminal: a newline would split a one-line message. */
const CONTROL = /[\x00-\x1f\x7f]/g;

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

const hex = (byte: number) => `\\x${byte.toString(16).padStart(2, '0')}`;

/**
 * An index path for people: each byte that is not UTF-8, and each control character, as `\xHH` (what `ls`
 * paths and `--include` patterns accept too), so that a name never breaks a line of output.
 */
export function displayPath(path: string): string {
  // Printable ASCII (ids, dates, sizes, most names) has nothing to escape: not scanned twice.
  if (PRINTABLE_ASCII.test(path)) return path;
  return path
    .replace(ESCAPED, (character) => hex(character.charCodeAt(0) - ESCAPE_BASE))
    .replace(CONTROL, (character) => hex(character.charCodeAt(0)));
}

/** A path or pattern as people type it back to an index path: `\xHH` (HH from 80 to ff, below 20, or 7f) is that byte. */
export function fromDisplayPath(text: string): string {
  return text.replace(/\\x([89a-f][0-9a-f]|[01][0-9a-f]|7f)/gi, (_, digits: string) => {
    const byte = parseInt(digits, 16);
    return String.fromCharCode(byte >= 0x80 ? ESCAPE_BASE + byte : byte);
  });
}
