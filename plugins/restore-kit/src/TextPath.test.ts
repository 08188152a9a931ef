import { link, lstat, mkdir, readdir, writeFile } from 'node:fs/promises';
import { getAttribute, setAttribute } from '@napi-rs/xattr';
import { temporaryDirectory } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { NoTextPath, withTextPath } from './TextPath.js';

const textPaths = suite('text paths to names that are not UTF-8');

const bytes = (text: string, ...raw: number[]) => Buffer.concat([Buffer.from(text), Buffer.from(raw)]);

textPaths('a directory, and a file in a directory whose name is not UTF-8, are reached directly', async () => {
  const root = await temporaryDirectory();
  const directory = Buffer.concat([Buffer.from(`${root}/`), bytes('d', 0xfe)]);
  await mkdir(directory);
  await writeFile(Buffer.concat([directory, Buffer.from('/plain')]), 'x');
  await withTextPath(directory, (text) => setAttribute(text, 'user.on', 'directory'));
  await withTextPath(Buffer.concat([directory, Buffer.from('/plain')]), (text) => setAttribute(text, 'user.on', 'file'));
  assert.is((await withTextPath(directory, (text) => getAttribute(text, 'user.on')))?.toString(), 'directory');
  assert.is(
    (await withTextPath(Buffer.concat([directory, Buffer.from('/plain')]), (text) => getAttribute(text, 'user.on')))?.toString(),
    'file',
  );
  assert.is(await getAttribute(`${root}/${(await readdir(root))[0]}`, 'user.on').catch(() => null), null, 'the lossy name reaches nothing');
});

textPaths('a file whose own name is not UTF-8: refused for reading, reached through a temporary link for restores', async () => {
  const root = await temporaryDirectory();
  const file = Buffer.concat([Buffer.from(`${root}/`), bytes('lat-', 0xe9, 0xff)]);
  await writeFile(file, 'x');
  await withTextPath(file, async () => assert.unreachable()).then(
    () => assert.unreachable(),
    (error) => assert.instance(error, NoTextPath),
  );
  await withTextPath(file, (text) => setAttribute(text, 'user.on', 'file'), { mayLink: true });
  await link(file, `${root}/check`);
  assert.is((await getAttribute(`${root}/check`, 'user.on'))?.toString(), 'file');
  assert.equal((await readdir(root)).sort(), ['check', 'lat-\ufffd\ufffd'], 'the temporary link is gone');
  assert.is((await lstat(file)).nlink, 2);
});

textPaths.run();
