import { ErrorCode, type RastError } from '@rast-backup/core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { safeRelativePath } from './SafeRelativePath.js';

test('paths with .., absolute paths, empty components and NUL are refused', () => {
  for (const name of ['../escape', 'a/../../escape', '/etc/passwd', 'a//b', 'a/./b', 'bad\0name']) {
    assert.throws(
      () => safeRelativePath(name, 'evil'),
      (error: RastError) => error.code === ErrorCode.RESTORE_UNSAFE,
    );
  }
  assert.is(safeRelativePath('./a/b/', 'x'), 'a/b');
  assert.is(safeRelativePath('./', 'x'), '.');
});

test.run();
