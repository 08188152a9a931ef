import { comparePaths, fromDisplayPath, isWithin } from '@rast-backup/core';
import picomatch from 'picomatch';

/** Characters that make a pattern's name more than itself for picomatch (globs, classes, braces, extglobs, escapes). */
const SPECIAL = /[*?[\]{}()!+@\\]/;

/** The leading names of a pattern that picomatch matches only literally, as a path (`.` when there are none). */
function literalPrefix(clean: string): string {
  const names: string[] = [];
  for (const name of clean.split('/')) {
    if (name === '' || name === '.' || name === '..' || SPECIAL.test(name)) break;
    names.push(name);
  }
  return names.length > 0 ? names.join('/') : '.';
}

export interface IncludeMatcher {
  matches(path: string): boolean;
  /**
   * The subtrees that hold every path the patterns can match, in index order, none inside another (`.` for
   * everything): a pattern's literal leading names, so that `etc/ssh/*` reads `etc/ssh` and not the whole index.
   */
  roots: string[];
  unused(): string[];
}

/**
 * `--include` patterns: paths relative to the backup root (a leading `/` allowed) or globs; a pattern
 * that matches a directory includes its whole subtree. No patterns include everything. Paths are index paths
 * (see IndexPath): a byte that is not UTF-8 is matched by `?`, `*`, or `\xHH`.
 */
export function includeMatcher(patterns: string[]): IncludeMatcher {
  if (patterns.length === 0) return { matches: () => true, roots: ['.'], unused: () => [] };
  const compiled = patterns.map((pattern) => {
    const clean = fromDisplayPath(pattern).replace(/^\/+/, '').replace(/\/+$/, '') || '**';
    return { pattern, test: picomatch(clean, { dot: true }), root: literalPrefix(clean), used: false };
  });
  const roots: string[] = [];
  for (const root of compiled.map((candidate) => candidate.root).sort(comparePaths)) {
    const last = roots[roots.length - 1];
    if (last === undefined || !isWithin(root, last)) roots.push(root);
  }
  return {
    matches(path: string) {
      if (path === '.') return false;
      const parts = path.split('/');
      let matched = false;
      for (let depth = 1; depth <= parts.length; depth++) {
        const prefix = parts.slice(0, depth).join('/');
        for (const candidate of compiled) {
          // Once the path is in, only patterns not yet used are tried (`a` and `a/b` both count as used).
          if ((!matched || !candidate.used) && candidate.test(prefix)) {
            candidate.used = true;
            matched = true;
          }
        }
        if (matched && compiled.every((candidate) => candidate.used)) return true;
      }
      return matched;
    },
    roots,
    unused: () => compiled.filter((candidate) => !candidate.used).map((candidate) => candidate.pattern),
  };
}
