// A repository of many backups for timing `list`: copies of the one real manifest a repository holds, each
// under a new id (one hour apart, before the original), its part and index keys renamed with it. Only
// the manifests exist for the copies: list, latest and the chain lookups read nothing else.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const idAt = (time, n) =>
  `${time
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}-${n.toString(16).padStart(6, '0')}`;

/** Fills `repository` (a local repository holding exactly one backup) up to `count` backups. */
export function writeManifests(repository, count) {
  const backups = path.join(repository, 'backups');
  const [only, ...rest] = readdirSync(backups).filter((name) => name.endsWith('.json'));
  if (!only || rest.length) throw new Error(`${backups}: expected exactly one manifest to copy`);
  const text = readFileSync(path.join(backups, only), 'utf8');
  const manifest = JSON.parse(text);
  const created = new Date(manifest.created).getTime();
  for (let n = 1; n < count; n++) {
    const time = new Date(created - n * 3600_000);
    const id = idAt(time, n);
    const copy = JSON.parse(text.replaceAll(manifest.id, id));
    copy.created = time.toISOString();
    writeFileSync(path.join(backups, `${id}.json`), JSON.stringify(copy, null, 2));
  }
}
