// The data sets, each a btrfs subvolume (see docs/benchmarks.md and /work/shared/research/performance.md):
// (a) "mixed": files of equal size, half random, half text-like (zstd -3 ratio ~1.4);
// (b) "small": many files of 1–8 KiB of random bytes; its "1% change" overwrites 512 bytes in 1% of them.
import { sh } from './workspace.mjs';

const python = (script) => sh(`python3 - <<'EOF'\n${script}\nEOF`);

/** Builds a subvolume of `mib` MiB in `files` files spread over 50 directories. */
export function buildMixed(subvolume, mib, files) {
  const perFile = Math.floor((mib * 2 ** 20) / files);
  sh(`btrfs subvolume create ${subvolume} >/dev/null`);
  python(`import os, random
random.seed(7)
words = [''.join(random.choice('abcdefghijklmnopqrstuvwxyz') for _ in range(random.randint(2, 9))) for _ in range(5000)]
text = ' '.join(random.choice(words) for _ in range(400000)).encode()
text = text * (1 + ${perFile} // len(text))
for i in range(${files}):
    d = '${subvolume}/d%02d' % (i % 50)
    os.makedirs(d, exist_ok=True)
    with open('%s/f%05d' % (d, i), 'wb') as f:
        if i % 2: f.write(os.urandom(${perFile}))
        else:
            start = random.randrange(0, len(text) - ${perFile} + 1)
            f.write(text[start:start + ${perFile}])`);
  sh('sync');
}

/** The path, relative to a mixed subvolume, of one of its files near the middle of the set (a random one). */
export function mixedSample(files) {
  const i = Math.floor(files / 2) | 1;
  return `d${String(i % 50).padStart(2, '0')}/f${String(i).padStart(5, '0')}`;
}

/** Builds a subvolume of `count` files of 1–8 KiB in 1,000 directories. */
export function buildSmall(subvolume, count) {
  sh(`btrfs subvolume create ${subvolume} >/dev/null`);
  python(`import os, random
random.seed(8)
for i in range(${count}):
    d = '${subvolume}/d%03d' % (i % 1000)
    if i < 1000: os.makedirs(d, exist_ok=True)
    with open('%s/f%06d' % (d, i), 'wb') as f: f.write(os.urandom(random.randint(1024, 8192)))`);
  sh('sync');
}

/** Overwrites the first 512 bytes of 1% of the small files (a different 1% for each seed). */
export function changeSmall(subvolume, count, seed) {
  python(`import os, random
random.seed(${seed})
for i in random.sample(range(${count}), ${Math.max(1, Math.floor(count / 100))}):
    with open('${subvolume}/d%03d/f%06d' % (i % 1000, i), 'r+b') as f: f.write(os.urandom(512))`);
  sh('sync');
}

/** Apparent size in bytes of a tree's files. */
export function treeBytes(directory) {
  return Number(sh(`du -sb --apparent-size ${directory}`).split('\t')[0]);
}
