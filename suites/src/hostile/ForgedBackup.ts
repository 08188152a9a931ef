import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { encodeFileIndex, RepositoryKeys, type IndexEntry, type Manifest, type PartRecord } from '@rast-backup/core';

/**
 * Writes backups into a local repository directory by hand, with correct sizes and SHA-256, so that
 * what they hold passes every integrity check and reaches the format's own checks (hostile archives),
 * and rewrites stored objects of real backups (damage that a checksum cannot see).
 */

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** One self-contained zstd frame, made by the zstd command, as the zstd plugin stores a part. */
export function zstdFrame(plain: Buffer): Buffer {
  const result = spawnSync('zstd', ['-3', '-T1', '--no-check', '-q', '-c'], { input: plain, maxBuffer: 1 << 30 });
  if (result.status !== 0) throw new Error(`zstd failed: ${result.stderr}`);
  return result.stdout;
}

export const hasZstd = spawnSync('zstd', ['--version']).status === 0;

/** A backup id a second after `base` (or now), so forged backups sort as made later. */
export function forgedId(secondsFromNow = 0): string {
  const stamp = new Date(Date.now() + secondsFromNow * 1000)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

/** A directory (tar) index entry with neutral metadata. */
export function entry(id: string, fields: Partial<IndexEntry> & Pick<IndexEntry, 'path' | 'type'>): IndexEntry {
  return { size: 0, mode: fields.type === 'directory' ? 0o755 : 0o644, uid: 0, gid: 0, mtime: '1700000000000000000', from: id, ...fields };
}

export interface ForgeOptions {
  id: string;
  /** The plaintext stream (a tar archive for the `tar` format). */
  stream: Buffer;
  entries: IndexEntry[];
  sourcePath: string;
  parent?: string | null;
  /** Plaintext bytes per part (default 64 KiB). */
  partSize?: number;
  /** Store parts as zstd frames (via the zstd command) instead of untransformed. */
  zstd?: boolean;
  format?: string;
}

async function storeObject(repository: string, key: string, plain: Buffer, zstd: boolean): Promise<PartRecord> {
  const stored = zstd ? zstdFrame(plain) : plain;
  const file = path.join(repository, ...key.split('/'));
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, stored);
  return { key, size: plain.length, storedSize: stored.length, sha256: sha256(stored) };
}

/** Writes a committed backup: parts, index and manifest, exactly as `create` lays them out. */
export async function forgeBackup(repository: string, options: ForgeOptions): Promise<Manifest> {
  const { id, stream, entries, sourcePath } = options;
  const partSize = options.partSize ?? 65536;
  const zstd = options.zstd ?? false;
  const parts: PartRecord[] = [];
  for (let offset = 0, seq = 0; offset < stream.length || seq === 0; offset += partSize, seq++) {
    parts.push(await storeObject(repository, RepositoryKeys.part(id, seq), stream.subarray(offset, offset + partSize), zstd));
  }
  const index = await storeObject(
    repository,
    RepositoryKeys.index(id),
    encodeFileIndex({ format: 'rast-backup/index', version: 1, backupId: id, entries }),
    zstd,
  );
  const manifest: Manifest = {
    format: 'rast-backup/manifest',
    version: 1,
    id,
    name: 'forged',
    tags: [],
    created: new Date().toISOString(),
    host: 'forger',
    parent: options.parent ?? null,
    source: { path: sourcePath, kind: 'directory', atomic: false },
    serializer: { format: options.format ?? 'tar', version: 1, plugin: '@rast-backup/plugin-directory@0.1.0' },
    transforms: zstd ? [{ name: 'zstd', stage: 100, params: { level: 3 }, plugin: '@rast-backup/plugin-zstd@0.1.0' }] : [],
    partSize,
    parts,
    index: { ...index, entries: entries.length },
    size: stream.length,
    storedSize: parts.reduce((sum, part) => sum + part.storedSize, index.storedSize),
    plugins: { '@rast-backup/plugin-directory': '0.1.0' },
  };
  await writeManifest(repository, manifest);
  return manifest;
}

export async function readManifest(repository: string, id: string): Promise<Manifest> {
  return JSON.parse(await readFile(path.join(repository, RepositoryKeys.manifest(id)), 'utf8')) as Manifest;
}

export async function writeManifest(repository: string, manifest: Manifest | Record<string, unknown>): Promise<void> {
  const file = path.join(repository, RepositoryKeys.manifest(String(manifest.id)));
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(manifest, null, 2) + '\n');
}

/**
 * Replaces a stored object of a backup (`index` or a part number) by `plain` (compressed when the backup
 * is) and fixes its record in the manifest, so the damage passes the checksum and meets the decoders.
 */
export async function resealObject(
  repository: string,
  id: string,
  which: 'index' | number,
  plain: Buffer,
  options: { raw?: boolean } = {},
): Promise<void> {
  const manifest = await readManifest(repository, id);
  const record = which === 'index' ? manifest.index : manifest.parts[which]!;
  const zstd = !options.raw && manifest.transforms.some((transform) => transform.name === 'zstd');
  const fresh = await storeObject(repository, record.key, plain, zstd);
  Object.assign(record, { size: fresh.size, storedSize: fresh.storedSize, sha256: fresh.sha256 });
  await writeManifest(repository, manifest);
}

/** The plaintext of a stored part of a backup made with zstd (or none). */
export async function plainPart(repository: string, id: string, seq: number): Promise<Buffer> {
  const manifest = await readManifest(repository, id);
  const stored = await readFile(path.join(repository, ...manifest.parts[seq]!.key.split('/')));
  if (!manifest.transforms.some((transform) => transform.name === 'zstd')) return stored;
  const result = spawnSync('zstd', ['-d', '-q', '-c'], { input: stored, maxBuffer: 1 << 30 });
  if (result.status !== 0) throw new Error(`zstd -d failed: ${result.stderr}`);
  return result.stdout;
}
