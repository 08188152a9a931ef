import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setAttribute } from '@napi-rs/xattr';
import { temporaryDirectory } from '@rast-backup/core/testing';
import { withTextPath } from '@rast-backup/restore-kit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readXattrs, xattrWarnings } from './ExtendedAttributes.js';

const xattrs = suite('directory source: xattrs read by the bytes of the path');

xattrs('values by name, sorted; none is no failure; a name that is not UTF-8 is reached', async () => {
  const home = await temporaryDirectory();
  const plain = path.join(home, 'plain');
  await writeFile(plain, 'x');
  assert.equal(readXattrs(Buffer.from(plain)), {});
  const named = Buffer.concat([Buffer.from(`${home}/lat-`), Buffer.from([0xe9, 0xff])]);
  // A directory: the binding that sets them reaches one whose name is not UTF-8 only through /proc/self/fd.
  await mkdir(named);
  const large = Buffer.alloc(3000, 7);
  await withTextPath(named, async (text) => {
    await setAttribute(text, 'user.zeta', 'last');
    await setAttribute(text, 'user.alpha', large);
  });
  assert.equal(readXattrs(named), {
    xattrs: { 'user.alpha': large.toString('base64'), 'user.zeta': Buffer.from('last').toString('base64') },
  });
});

xattrs('a failure other than "no xattrs" is returned with its errno, and named in a warning', async () => {
  const home = await temporaryDirectory();
  const gone = path.join(home, 'gone');
  const { xattrs: found, failures } = readXattrs(Buffer.from(gone));
  assert.is(found, undefined);
  assert.equal(failures, [{ code: 'ENOENT' }]);
  assert.equal(xattrWarnings('gone', [...failures!, { attribute: 'user.note', code: 'EACCES' }]), [
    'gone: extended attributes not backed up: listing them failed (ENOENT)',
    'gone: extended attribute user.note not backed up: reading it failed (EACCES)',
  ]);
});

xattrs.run();
