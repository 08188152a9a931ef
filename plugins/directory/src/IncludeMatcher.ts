import picomatch from 'picomatch';

/** `\xHH` (HH from 80 to ff) in a pattern stands for that byte of a name that is not UTF-8, as `ls` shows it. */
const escapedByte = (pattern: string) => pattern.replace(/\\x([89a-f][0-9a-f])/gi, (_, hex: string) => String.fromCharCode(0xdc00 + parseInt(hex, 16)));

/**
 * `--include` patterns: paths relative to the backup root (a leading `/` allowed) or globs; a pattern
 * that matches a directory includes its whole subtree. No patterns include everything. Paths are index paths
 * (see IndexPath): a byte that is not UTF-8 is matched by `?`, `*`, or `\xHH`.
 */
export function includeMatcher(patterns: string[]): { matches(path: string): boolean; unused(): string[] } {
  if (patterns.length === 0) return { matches: () => true, unused: () => [] };
  const compiled = patterns.map((pattern) => {
    const clean = escapedByte(pattern).replace(/^\/+/, '').replace(/\/+$/, '') || '**';
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
