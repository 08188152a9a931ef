import { PathPattern } from './PathPattern.js';
import { fromDisplayPath } from './IndexPath.js';

/**
 * Why `pattern` cannot be an exclude pattern, or undefined when it can. Patterns are PathPatterns (the syntax of
 * `restore --include`) relative to the source's root.
 */
export function excludePatternProblem(pattern: string): string | undefined {
  if (pattern.trim() === '') return 'is empty';
  if (pattern.includes('\0')) return 'holds a NUL byte';
  const clean = fromDisplayPath(pattern).replace(/^\/+/, '').replace(/\/+$/, '');
  if (clean === '' || clean === '.') return 'names the source itself: nothing would be backed up';
  if (clean.split('/').includes('..')) return 'holds "..": patterns are relative to the source and cannot leave it';
  try {
    new PathPattern(pattern);
  } catch (error) {
    return `is not a valid glob (${(error as Error).message})`;
  }
  return undefined;
}

/**
 * The paths `create` leaves out: exclude patterns matched against index paths relative to the source's root (a
 * leading `/` is that root). A pattern that matches a directory leaves out its whole subtree, which is never read.
 * It remembers which patterns matched something, so that one that never did is reported.
 */
export class Exclusion {
  private readonly compiled: PathPattern[];
  private readonly used: boolean[];
  /** Entries left out (each with whatever lies below it, which is not counted). */
  excludedEntries = 0;

  /** Patterns are checked with excludePatternProblem by whoever took them from the user. */
  constructor(readonly patterns: readonly string[]) {
    this.compiled = patterns.map((pattern) => new PathPattern(pattern));
    this.used = patterns.map(() => false);
  }

  get empty(): boolean {
    return this.patterns.length === 0;
  }

  /** The index of the first pattern that matches `path` (relative to the source root), or -1. */
  matchOf(path: string): number {
    if (path === '.') return -1;
    return this.compiled.findIndex((pattern) => pattern.matches(path));
  }

  /** Whether `path` is left out; counts it, and the pattern that matched, as used. */
  excludes(path: string): boolean {
    const match = this.matchOf(path);
    if (match < 0) return false;
    this.markUsed(match);
    return true;
  }

  /** Counts an entry left out by pattern `index` (for matches made elsewhere, e.g. in a thread). */
  markUsed(index: number, entries = 1): void {
    this.used[index] = true;
    this.excludedEntries += entries;
  }

  /** The patterns that matched nothing so far. */
  unused(): string[] {
    return this.patterns.filter((_, at) => !this.used[at]);
  }
}
