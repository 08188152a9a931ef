import { spawn } from 'node:child_process';
import path from 'node:path';
import { ErrorCode, RastError, type IndexEntry, type RestoreContext, type RestoreReport } from '@rast-backup/core';
import { includeMatcher } from './IncludeMatcher.js';
import { applyMetadata } from './Metadata.js';
import { SafeTree } from './SafeTree.js';
import { checkIndex } from './IndexCheck.js';
import { tarEntries } from './TarEntries.js';

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${command} failed: ${stderr.trim()}`))));
  });
}

/** What a restore needs: which entries, where each file's data goes, and which backup holds each. */
function plan(context: RestoreContext) {
  checkIndex(context.index, context.target.id, new Set(context.chain.map((manifest) => manifest.id)));
  const matcher = includeMatcher(context.include);
  const byPath = new Map(context.index.entries.map((entry) => [entry.path, entry]));
  const wanted = context.index.entries.filter((entry) => matcher.matches(entry.path) || (context.include.length === 0 && entry.path === '.'));
  const unused = matcher.unused();
  if (unused.length > 0) {
    throw new RastError(ErrorCode.USAGE, `--include ${unused.join(' ')}: matches nothing in backup ${context.target.id} (see its files with rast-backup info)`, { backup: context.target.id });
  }
  // Where a file's data is written: its own path, or, when only other links to it are wanted, the first of those.
  const dataTarget = new Map<string, string>();
  for (const entry of wanted) if (entry.type === 'file') dataTarget.set(entry.path, entry.path);
  for (const entry of wanted) if (entry.type === 'hardlink' && !dataTarget.has(entry.linkTo!)) dataTarget.set(entry.linkTo!, entry.path);
  const fromBackup = new Map<string, Set<string>>();
  const need = (entry: IndexEntry) => {
    let paths = fromBackup.get(entry.from);
    if (!paths) fromBackup.set(entry.from, (paths = new Set()));
    paths.add(entry.path);
  };
  for (const entry of wanted) if (entry.type !== 'directory' && entry.type !== 'hardlink' && entry.type !== 'file') need(entry);
  for (const leader of dataTarget.keys()) need(byPath.get(leader)!);
  const directories = new Set<string>();
  for (const entry of wanted) {
    if (entry.type === 'directory') directories.add(entry.path);
    for (let parent = path.posix.dirname(entry.path); parent !== '.'; parent = path.posix.dirname(parent)) directories.add(parent);
  }
  return { byPath, wanted, dataTarget, fromBackup, directories };
}

/**
 * Restores a tar backup chain: each backup's stream is read once, oldest first, and only the entries that
 * the target's index says it holds are taken from it. Hard links are made once all data is in place, and
 * directory metadata last, deepest first.
 */
export async function restoreTree(context: RestoreContext): Promise<RestoreReport> {
  const { byPath, wanted, dataTarget, fromBackup, directories } = plan(context);
  const tree = new SafeTree(context.destination);
  const isRoot = process.getuid?.() === 0;
  const skipped: string[] = [];
  const restored: IndexEntry[] = [];
  let bytes = 0;

  for (const directory of [...directories].sort()) await tree.directory(directory);

  for (const manifest of context.chain) {
    const needed = fromBackup.get(manifest.id);
    if (!needed || needed.size === 0) continue;
    for await (const { path: entryPath, header, body } of tarEntries(context.openStream(manifest), manifest.id)) {
      const entry = byPath.get(entryPath);
      if (!entry || entry.from !== manifest.id || !needed.has(entryPath)) continue;
      needed.delete(entryPath);
      if (entry.type === 'file') {
        if (header.type !== 'file' || header.size !== entry.size) {
          throw new RastError(ErrorCode.STREAM_DAMAGED, `backup ${manifest.id}: ${entryPath} in the stream (${header.type}, ${header.size} bytes) does not match the index (${entry.size} bytes)`, { backup: manifest.id });
        }
        const target = dataTarget.get(entryPath)!;
        const handle = await tree.createFile(target);
        try {
          for await (const chunk of body) {
            await handle.write(chunk);
            bytes += chunk.length;
          }
        } finally {
          await handle.close();
        }
        restored.push({ ...entry, path: target });
      } else if (entry.type === 'symlink') {
        await tree.symlink(entry.target!, entryPath);
        restored.push(entry);
      } else if (entry.type === 'fifo') {
        await tree.prepareParent(entryPath);
        await run('mkfifo', ['-m', '600', tree.absolute(entryPath)]);
        restored.push(entry);
      } else if (entry.type === 'char-device' || entry.type === 'block-device') {
        if (!isRoot) {
          skipped.push(`${entryPath}: device node (needs root)`);
          continue;
        }
        await tree.prepareParent(entryPath);
        await run('mknod', ['-m', '600', tree.absolute(entryPath), entry.type === 'char-device' ? 'c' : 'b', String(entry.devMajor), String(entry.devMinor)]);
        restored.push(entry);
      }
    }
    if (needed.size > 0) {
      const missing = [...needed].slice(0, 3).join(', ');
      throw new RastError(ErrorCode.STREAM_DAMAGED, `backup ${manifest.id}: its stream lacks ${needed.size} entries its index lists (${missing})`, { backup: manifest.id });
    }
  }

  for (const entry of wanted) {
    if (entry.type !== 'hardlink') continue;
    const target = dataTarget.get(entry.linkTo!)!;
    if (target !== entry.path) await tree.hardlink(target, entry.path);
  }
  for (const entry of restored) skipped.push(...(await applyMetadata(tree.absolute(entry.path), entry, isRoot)));
  const directoryEntries = [...new Set([...directories, ...(context.include.length === 0 ? ['.'] : [])])]
    .map((directory) => byPath.get(directory))
    .filter((entry): entry is IndexEntry => entry !== undefined)
    .sort((a, b) => b.path.split('/').length - a.path.split('/').length);
  for (const entry of directoryEntries) skipped.push(...(await applyMetadata(tree.absolute(entry.path), entry, isRoot)));

  return { entries: restored.length + directoryEntries.length + wanted.filter((entry) => entry.type === 'hardlink').length, bytes, skipped };
}
