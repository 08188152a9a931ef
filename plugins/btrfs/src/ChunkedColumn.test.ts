import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Float64Column, Int32Column, Uint16Column, Uint8Column } from './ChunkedColumn.js';
import { PageStore } from './PageStore.js';
import { generator } from './testing/RandomChanges.js';

const columns = suite('columns paged to a file beyond a budget (RAST_COLUMNS_SEED)');

/**
 * Random writes and reads of four columns over a small budget, checked against arrays; `settle` lets the
 * page writes run every so often, else every page is written synchronously.
 */
async function randomColumns(settle: boolean): Promise<PageStore> {
  const seed = Number(process.env.RAST_COLUMNS_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const random = generator(seed);
  // Pages of 16 items; a budget of five Float64 pages for all four columns.
  const store = new PageStore(5 * 16 * 8, 4, settle ? undefined : 0);
  const made = [new Uint8Column(store), new Uint16Column(store), new Int32Column(store), new Float64Column(store)];
  const limits = [0xff, 0xffff, 2 ** 31 - 1, 2 ** 52];
  const models: number[][] = made.map(() => []);
  let items = 0;
  for (let step = 0; step < 50_000; step++) {
    if (settle && random.below(50) === 0) await new Promise(setImmediate);
    const which = random.below(4);
    if (random.below(10) === 0 || items === 0) {
      if (store.startsPage(items)) for (const column of made) column.extend(items);
      for (const model of models) model.push(0);
      items++;
      continue;
    }
    // Mostly the items made lately, as a stream uses them; sometimes any.
    const id = random.below(3) === 0 ? random.below(items) : Math.max(0, items - 1 - random.below(40));
    if (random.below(2) === 0) {
      const value = which === 2 ? random.below(limits[2]!) - random.below(limits[2]!) : random.below(limits[which]!);
      made[which]!.set(id, value);
      models[which]![id] = value;
    } else assert.is(made[which]!.get(id), models[which]![id], `column ${which} item ${id} at step ${step} (seed ${seed})`);
  }
  for (const [which, model] of models.entries())
    for (let id = 0; id < items; id++) assert.is(made[which]!.get(id), model[id], `column ${which} item ${id} at the end (seed ${seed})`);
  assert.ok(store.faults > 100, `pages were read back from the file ${store.faults} times (seed ${seed})`);
  if (settle)
    assert.ok(
      store.unchanged > 0,
      `pages read back and left unchanged were evicted without a write ${store.unchanged} times (seed ${seed})`,
    );
  store.close();
  return store;
}

columns(
  'random writes and reads over pages that leave memory and come back hold what arrays hold (each written synchronously)',
  async () => {
    await randomColumns(false);
  },
);

columns('random writes and reads hold what arrays hold while evicted pages are written asynchronously and taken back', async () => {
  const store = await randomColumns(true);
  // The writes end in their own time (later on a loaded machine): wait up to 10 s for them.
  for (let waited = 0; store.writingMemory > 0 && waited < 10_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.is(store.writingMemory, 0, 'no evicted page is held once its writes end');
});

columns('a page read back and left unchanged is not written again', async () => {
  const store = new PageStore(2 * 16 * 4, 4);
  const column = new Int32Column(store);
  for (let id = 0; id < 16 * 6; id++) {
    if (store.startsPage(id)) column.extend(id);
    column.set(id, id * 3);
  }
  await new Promise((resolve) => setTimeout(resolve, 50));
  const written = store.writes;
  assert.ok(written >= 4, `${written} pages written`);
  for (let round = 0; round < 3; round++) {
    for (let id = 0; id < 16 * 6; id += 16) assert.is(column.get(id), id * 3);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.is(store.writes, written, 'reading pages back wrote none');
  assert.ok(store.unchanged >= 6, `${store.unchanged} unchanged pages evicted without a write`);
  column.set(5, -1);
  for (let id = 0; id < 16 * 6; id += 16) column.get(id);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.is(store.writes, written + 1, 'the changed page is written once');
  for (let id = 0; id < 16 * 6; id += 16) column.get(id);
  assert.is(column.get(5), -1);
  store.close();
});

columns('without a budget, no page leaves memory', () => {
  const store = new PageStore();
  const column = new Int32Column(store);
  for (let id = 0; id < 300_000; id++) {
    if (store.startsPage(id)) column.extend(id);
    column.set(id, id);
  }
  for (let id = 0; id < 300_000; id += 997) assert.is(column.get(id), id);
  assert.is(store.faults, 0);
});

columns.run();
