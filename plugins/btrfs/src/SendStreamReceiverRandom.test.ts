import { testNeeding } from '@rast-backup/core/testing';
import { suite } from 'uvu';
import { labAvailable, labNeeds } from './testing/BtrfsLab.js';
import { differential } from './testing/Differential.js';
import { generator, randomChanges } from './testing/RandomChanges.js';

// ---

const randomized = suite('user-space receiver, randomized chains (RAST_RECEIVER_SEED, RAST_RECEIVER_ROUNDS)');

testNeeding(
  randomized,
  labAvailable,
  labNeeds,
  'random changes, snapshots and incremental streams restore the same as btrfs receive',
  async () => {
    const seed = Number(process.env.RAST_RECEIVER_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const rounds = Number(process.env.RAST_RECEIVER_ROUNDS ?? 4);
    process.stdout.write(`\n  randomized receiver chains: RAST_RECEIVER_SEED=${seed} RAST_RECEIVER_ROUNDS=${rounds}\n`);
    const random = generator(seed);
    await differential(Array.from({ length: rounds }, (_, round) => randomChanges(random, round === 0 ? 40 : 25)));
  },
);

randomized.run();
