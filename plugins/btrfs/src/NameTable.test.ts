import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { NameTable } from './NameTable.js';
import { PageStore } from './PageStore.js';
import { generator } from './testing/RandomChanges.js';

const names = suite('the name table of a full stream (RAST_NAMES_SEED)');

const CHARACTERS = ['a', 'b', 'o', '-', '7', '.', 'é', 'ÿ', 'Ā', '名', '\udc80', '\udcff', '😀'];

for (const [label, pages] of [
  ['in memory', () => undefined],
  ['its columns paged to a file (pages of 16 links, a budget of 4 KiB)', () => new PageStore(4096, 4)],
] as const)
  names(`random adds and removals find what a map holds, links of a directory included, names of any characters: ${label}`, () => {
    const seed = Number(process.env.RAST_NAMES_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const random = generator(seed);
    const store = pages();
    const table = new NameTable(store);
    const model = new Map<string, { link: number; node: number }>();
    const key = (directory: number, name: string) => `${directory}/${name}`;
    for (let step = 0; step < 200_000; step++) {
      const directory = random.below(40);
      let name = '';
      for (let length = random.below(4); length >= 0; length--) name += random.pick(CHARACTERS)!;
      const known = model.get(key(directory, name));
      const link = table.find(directory, name);
      assert.is(link, known?.link ?? -1, `find ${key(directory, name)} at step ${step} (seed ${seed})`);
      if (known && random.below(2) === 0) {
        table.remove(known.link);
        model.delete(key(directory, name));
      } else if (!known) model.set(key(directory, name), { link: table.add(directory, name, step), node: step });
    }
    for (const [path, { link, node }] of model) {
      const directory = Number(path.slice(0, path.indexOf('/')));
      assert.is(table.nodeAt(link), node);
      assert.is(table.directoryOf(link), directory);
      assert.is(table.nameOf(link), path.slice(path.indexOf('/') + 1), `seed ${seed}`);
    }
    for (let directory = 0; directory < 40; directory++) {
      const listed = [...table.links(directory)].map((link) => table.nameOf(link)).sort();
      const held = [...model.keys()].filter((path) => path.startsWith(`${directory}/`)).map((path) => path.slice(path.indexOf('/') + 1));
      assert.equal(listed, held.sort(), `links of directory ${directory} (seed ${seed})`);
    }
    if (store) assert.ok(store.faults > 0, `no page was read back from the file (seed ${seed})`);
    store?.close();
  });

names("names removed give their room back: a stream's orphan names do not make the table grow", () => {
  const table = new NameTable();
  const kept: number[] = [];
  for (let file = 0; file < 400_000; file++) {
    // As a full stream does: a temporary name, then the real one; every 100th file is kept.
    const orphan = table.add(0, `o${file + 257}-${file % 13}-0-padding-to-make-names-longer`, file);
    table.remove(orphan);
    if (file % 100 === 0) kept.push(table.add(1, `file${file}.dat`, file));
  }
  // 400,000 removed names of about 45 bytes (18 MB) unless their links, slots and pool bytes are used again.
  assert.ok(table.bytes < 3 * 2 ** 20, `the table holds ${table.bytes} bytes`);
  assert.is(table.nameOf(kept.at(-1)!), 'file399900.dat');
  assert.is(table.find(1, 'file200000.dat'), kept[2000]);
});

names("the names' characters are pages of the store: beyond its budget they wait in its file", () => {
  const store = new PageStore(256 * 1024, 12, 0);
  const table = new NameTable(store);
  const name = (file: number) => `a-file-with-a-rather-long-name-${String(file).padStart(6, '0')}.dat`;
  const links: number[] = [];
  for (let file = 0; file < 100_000; file++) links.push(table.add(file % 100, name(file), file));
  // 100,000 names of 41 bytes: 4.1 MB of characters, 2.4 MB of the links' columns, a budget of 256 KiB.
  assert.ok(store.fileBytes > 100_000 * 41, `the page file holds ${store.fileBytes} bytes`);
  for (let file = 0; file < 100_000; file += 997) {
    assert.is(table.find(file % 100, name(file)), links[file]);
    assert.is(table.nameOf(links[file]!), name(file));
  }
  store.close();
});

names.run();
