import picomatch from 'picomatch';
import { fromDisplayPath } from './IndexPath.js';

/**
 * A glob over index paths, in the syntax of `restore --include` (picomatch, dotfiles matched, a leading or
 * trailing `/` ignored, `\xHH` for a byte that is not UTF-8), and the part of the tree it can match: the one
 * path it names, or the literal directory it starts with, so that a search reads only that subtree.
 */
export class PathPattern {
  readonly matches: (path: string) => boolean;
  /** The one path the pattern names, when it has no glob characters. */
  readonly literal?: string;
  /** The directory every match lies in (`.` when the pattern starts with a glob). */
  readonly within: string;
  /**
   * Text every matching path holds, as it is written in an index record (printable ASCII without `"` or `\\`):
   * the longest name or part of a name between `*`, `?` and `/`; undefined for patterns with other glob syntax.
   */
  readonly clue?: string;
  /** The last segment of every matching path, when the pattern's last segment is a literal name (`**` + `/passwd`). */
  readonly name?: string;

  constructor(readonly pattern: string) {
    const clean = fromDisplayPath(pattern).replace(/^\/+/, '').replace(/\/+$/, '') || '.';
    this.matches = clean === '.' ? (path) => path === '.' : picomatch(clean, { dot: true });
    const scanned = picomatch.scan(clean);
    // A backslash escapes a glob character: the base is literal only up to the name holding the first one.
    const names = scanned.negated ? [] : scanned.base.split('/');
    const escaped = names.findIndex((name) => name.includes('\\'));
    const plain = escaped < 0 ? names : names.slice(0, escaped);
    if (!scanned.isGlob && !scanned.negated && escaped < 0) this.literal = clean;
    const directory = (this.literal ? plain.slice(0, -1) : plain).filter((name) => name !== '' && name !== '.');
    this.within = directory.length > 0 ? directory.join('/') : '.';
    this.clue = clueOf(clean);
    const last = clean.slice(clean.lastIndexOf('/') + 1);
    // Any character that is glob syntax somewhere (even where picomatch takes it literally) leaves the name unknown.
    if (!scanned.negated && last !== '.' && last !== '..' && !/[*?[\]{}()!+@\\]/.test(last)) this.name = last;
  }
}

/** Only `*` and `?` (and `**`) as glob syntax, and text that a record line holds as it is: then each fragment between them is in every match. */
function clueOf(pattern: string): string | undefined {
  if (!/^[\x20-\x7e]*$/.test(pattern) || /["\\[\]{}()!+@]/.test(pattern)) return undefined;
  const fragments = pattern.split(/[*?/]+/).filter((fragment) => fragment !== '' && fragment !== '.' && fragment !== '..');
  return fragments.sort((a, b) => b.length - a.length)[0];
}
