import { readFile } from 'node:fs/promises';
import { excludeFileUnreadable, excludePatternInvalid, excludePatternProblem } from '@rast-backup/core';

/**
 * The patterns of `--exclude` and `--exclude-file` (one pattern a line, surrounding blanks trimmed; blank lines
 * and lines starting with `#` ignored), in that order. A file that cannot be read, or a pattern that cannot be
 * one, is a usage error naming it (and the file and line).
 */
export async function excludePatterns(patterns: string[], files: string[]): Promise<string[]> {
  for (const pattern of patterns) {
    const problem = excludePatternProblem(pattern);
    if (problem) throw excludePatternInvalid('--exclude', pattern, problem);
  }
  const all = [...patterns];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const reason = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory' : (error as Error).message;
      throw excludeFileUnreadable(file, reason);
    }
    text.split('\n').forEach((line, at) => {
      const pattern = line.trim();
      if (pattern === '' || pattern.startsWith('#')) return;
      const problem = excludePatternProblem(pattern);
      if (problem) throw excludePatternInvalid(`--exclude-file ${file}:${at + 1}`, pattern, problem, { file });
      all.push(pattern);
    });
  }
  return all;
}
