import { seededRandom } from '@rast-backup/core/testing';

/**
 * The seeded pseudo-random numbers of the stress suites: the seed comes from RAST_STRESS_SEED, or is drawn
 * at random and printed, so that a failing run can be replayed exactly (timing aside).
 */
export interface Random {
  seed: number;
  /** A number in [0, 1). */
  next(): number;
  /** An integer in [low, high]. */
  between(low: number, high: number): number;
}

export function stressRandom(label: string): Random {
  const given = process.env.RAST_STRESS_SEED;
  const seed = given ? Number(given) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
  process.stderr.write(`${label}: seed ${seed} (replay with RAST_STRESS_SEED=${seed})\n`);
  const { next, between } = seededRandom(seed);
  return { seed, next, between };
}

/** Trials per case: RAST_STRESS_TRIALS, else the short default that `npm test` runs. */
export function trials(short: number): number {
  const given = Number(process.env.RAST_STRESS_TRIALS);
  return Number.isInteger(given) && given > 0 ? given : short;
}

/** With RAST_STRESS_TIMING set, prints how long each test of `tests` took (to keep `npm test` short). */
export function reportDurations(tests: {
  before: { each(fn: () => void): void };
  after: { each(fn: (context: { __test__?: string }) => void): void };
}): void {
  if (!process.env.RAST_STRESS_TIMING) return;
  let started = 0;
  tests.before.each(() => void (started = Date.now()));
  tests.after.each((context) => process.stderr.write(`${((Date.now() - started) / 1000).toFixed(1)} s  ${context.__test__ ?? ''}\n`));
}
