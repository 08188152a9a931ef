import { displayPath, unsafePath } from '@rast-backup/core';

/**
 * Checks a path from an archive: relative, no `.` or `..` or empty components, no NUL. Returns it
 * normalized (`./a/b/` → `a/b`, the root → `.`), or throws RESTORE_UNSAFE.
 */
export function safeRelativePath(name: string, backupId: string): string {
  let path = name.replace(/\/+$/, '');
  while (path.startsWith('./')) path = path.slice(2);
  if (path === '' || path === '.') return '.';
  if (path.startsWith('/') || path.includes('\0') || path.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    throw unsafePath(backupId, displayPath(name));
  }
  return path;
}
