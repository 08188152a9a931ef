import { fromDisplayPath } from '@rast-backup/core';
import picomatch from 'picomatch';

/**
 * `--include` patterns: paths relative to the backup root (a leading `/` allowed) or globs; a pattern
 * that matches a directory includes its whole subtree. No patterns include everything. Paths are index paths
 * (see IndexPath): a byte that is not UTF-8 is matched by `?`, `*`, or `\xHH`.
 */
export function includeMatcher(patterns: string[]): { matches(path: string): boolean; unused(): string[] } {
  if (patterns.length === 0) return { matches: () => true, unused: () => [] };
  const compiled = patterns.map((pattern) => {
    const clean = fromDisplayPath(pattern).replace(/^\/+/, '').replace(/\/+$/, '') || '**';
    return { pattern, test: picomatch(clean, { dot: true }), used: false };
  });
  return {
    matches(path: string) {
      if (path === '.') return false;
      const parts = path.split('/');
      let matched = false;
      for (let depth = 1; depth <= parts.length; depth++) {
        const prefix = parts.slice(0, depth).join('/');
        for (const candidate of compiled) {
          if (candidate.test(prefix)) {
            candidate.used = true;
            matched = true;
          }
        }
        if (matched) return true;
      }
      return false;
    },
    unused: () => compiled.filter((candidate) => !candidate.used).map((candidate) => candidate.pattern),
  };
}
