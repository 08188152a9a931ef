import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Float64Column, Int32Column, Uint16Column, Uint8Column } from './ChunkedColumn.js';
import { PageStore } from './PageStore.js';
import { generator } from './testing/RandomChanges.js';

const columns = suite('columns paged to a file beyond a budget (RAST_COLUMNS_SEED)');

columns('random writes and reads over pages that leave memory and come back hold what arrays hold', () => {
  const seed = Number(process.env.RAST_COLUMNS_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const random = generator(seed);
  // Pages of 16 items; a budget of five Float64 pages for all four columns.
  const store = new PageStore(5 * 16 * 8, 4);
  const made = [new Uint8Column(store), new Uint16Column(store), new Int32Column(store), new Float64Column(store)];
  const limits = [0xff, 0xffff, 2 ** 31 - 1, 2 ** 52];
  const models: number[][] = made.map(() => []);
  let items = 0;
  for (let step = 0; step < 50_000; step++) {
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
