import {
  chmodSync,
  closeSync,
  linkSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  truncateSync,
  lutimesSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { removeAttributeSync, setAttributeSync } from '@napi-rs/xattr';
import { seededRandom } from '@rast-backup/core/testing';
import { sh } from './BtrfsLab.js';
import type { Step } from './Differential.js';
import { cloneRange } from './SourceChanges.js';

/** The scenario's choices, from a seeded generator, so that a failing run can be replayed with its seed. */
export function generator(seed: number) {
  const { next, below } = seededRandom(seed);
  return {
    below,
    chance: (p: number) => next() < p,
    pick: <T>(items: T[]): T | undefined => (items.length ? items[below(items.length)] : undefined),
    bytes: (length: number) => Buffer.from(Array.from({ length }, () => below(256))),
  };
}

export function entries(root: string): { files: string[]; directories: string[]; all: string[] } {
  const files: string[] = [];
  const directories: string[] = [root];
  const all: string[] = [];
  const walk = (directory: string) => {
    for (const name of readdirSync(directory)) {
      const full = path.join(directory, name);
      all.push(full);
      const stats = lstatSync(full);
      if (stats.isDirectory()) {
        directories.push(full);
        walk(full);
      } else if (stats.isFile()) files.push(full);
    }
  };
  walk(root);
  return { files, directories, all };
}

/** One round of random changes: creations, in-place writes, truncations, renames (of trees too), deletions, links, clones, holes, metadata. */
export function randomChanges(random: ReturnType<typeof generator>, operations: number): Step {
  return (root) => {
    let counter = 0;
    const fresh = (directory: string) => path.join(directory, `n${random.below(1000)}-${counter++}`);
    for (let done = 0; done < operations; done += 1) {
      const { files, directories, all } = entries(root);
      const directory = random.pick(directories)!;
      const file = random.pick(files);
      const entry = random.pick(all);
      try {
        switch (random.below(16)) {
          case 0:
          case 1: {
            const target = fresh(directory);
            const fd = openSync(target, 'w');
            const size = random.pick([0, 1, 4095, 4096, 70_000, 300_000])!;
            writeSync(fd, random.bytes(size), 0, size, random.chance(0.3) ? random.below(4) * 1024 * 1024 : 0);
            closeSync(fd);
            break;
          }
          case 2:
            mkdirSync(fresh(directory));
            break;
          case 3:
            if (file) {
              const fd = openSync(file, 'r+');
              const size = random.pick([1, 5000, 140_000])!;
              writeSync(fd, random.bytes(size), 0, size, random.below(lstatSync(file).size + 1));
              closeSync(fd);
            }
            break;
          case 4:
            if (file)
              truncateSync(
                file,
                random.chance(0.5) ? random.below(lstatSync(file).size + 1) : lstatSync(file).size + random.below(3 * 1024 * 1024),
              );
            break;
          case 5:
          case 6:
            if (entry) renameSync(entry, random.chance(0.3) && file && file !== entry ? file : fresh(directory));
            break;
          case 7:
            if (entry) rmSync(entry, { recursive: true });
            break;
          case 8:
            if (file) linkSync(file, fresh(directory));
            break;
          case 9:
            symlinkSync(random.pick(['target', '../up', '/absolute/path', 'x'.repeat(200)])!, fresh(directory));
            break;
          case 10:
            if (file) sh('cp', ['--reflink=always', file, fresh(directory)]);
            break;
          case 11: {
            const source = random.pick(files);
            if (file && source) {
              const block = 4096;
              const size = lstatSync(source).size;
              const blocks = Math.floor(size / block);
              if (blocks > 0) {
                const length = (1 + random.below(blocks)) * block;
                cloneRange(source, random.below(blocks - length / block + 1) * block, length, file, random.below(8) * block);
              }
            }
            break;
          }
          case 12:
            if (file && lstatSync(file).size > 8192) sh('fallocate', ['-p', '-o', String(random.below(2) * 4096), '-l', '8192', file]);
            break;
          case 13:
            if (entry && !lstatSync(entry).isSymbolicLink()) chmodSync(entry, random.pick([0o644, 0o600, 0o755, 0o4755, 0o1777, 0o2750])!);
            else if (entry) lchownSync(entry, random.below(3000), random.below(3000));
            break;
          case 14:
            if (entry && !lstatSync(entry).isSymbolicLink()) {
              if (random.chance(0.7)) setAttributeSync(entry, `user.k${random.below(4)}`, random.bytes(random.below(300)));
              else removeAttributeSync(entry, `user.k${random.below(4)}`);
            } else if (entry) lutimesSync(entry, random.below(2e9), random.below(2e9));
            break;
          case 15:
            if (entry) lchownSync(entry, random.below(3000), random.below(3000));
            break;
        }
      } catch {
        // An operation that does not apply (a directory into itself, a missing xattr): the next one will.
      }
    }
  };
}
