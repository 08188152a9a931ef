import { readdir, rename } from 'node:fs/promises';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { agedId, idTime, killAfter, type Host } from './Host.js';
import type { Random } from './Seed.js';

/** The retention every crash host runs with: a few backups kept, chains cut, leftovers collected after 1 hour. */
export const CRASH_RETENTION = '\n[retention]\nlast = 3\nfull_every = 3\nleftover_age_hours = 1\n';

/** After any crash: everything listed before is still listed, everything listed verifies, leftovers are unlisted. */
export async function assertConsistent(host: Host, before: string[], context: string): Promise<string[]> {
  const after = await host.listed();
  for (const id of before) assert.ok(after.includes(id), `${context}: ${id} was listed before and is gone`);
  await host.assertAllIntact(context);
  for (const leftover of await host.incomplete())
    assert.not.ok(after.includes(leftover.id), `${context}: ${leftover.id} is both listed and incomplete`);
  return after;
}

/**
 * `create` killed with SIGKILL at a random moment, `count` times. Each trial: what was listed stays listed and
 * intact, nothing listed fails verify, the only new leftover is the killed create's, and the next create and
 * prune succeed (prune leaves young leftovers alone). Returns the ids of the leftovers found.
 */
export async function crashCreates(host: Host, source: string, random: Random, count: number, label: string): Promise<Set<string>> {
  const started = Date.now();
  await host.json(['create', source]);
  const duration = Date.now() - started;
  const leftovers = new Set<string>();
  for (let trial = 1; trial <= count; trial++) {
    const before = await host.listed();
    const delay = random.between(0, Math.round(duration * 1.2));
    const incremental = random.next() < 0.5;
    const killedAt = Date.now();
    const { killed, result } = await killAfter(host, ['create', source, ...(incremental ? ['--parent', 'latest'] : [])], delay);
    const context = `${label}, trial ${trial}/${count} (seed ${random.seed}): create${incremental ? ' --parent latest' : ''} killed after ${delay} ms`;
    if (!killed) assert.is(result.status, 0, `${context}: finished first, but failed: ${result.stderr}`);
    const after = await assertConsistent(host, before, context);
    assert.ok(after.length <= before.length + 1, `${context}: at most the killed backup is new`);
    for (const leftover of await host.incomplete()) {
      if (leftovers.has(leftover.id)) continue;
      assert.ok(killed, `${context}: a create that finished left ${leftover.id} behind`);
      assert.ok(
        idTime(leftover.id) >= Math.floor(killedAt / 1000) * 1000,
        `${context}: new leftover ${leftover.id} is not the killed create's`,
      );
      leftovers.add(leftover.id);
    }
    const next = await host.run(['create', source, '--parent', 'latest']);
    assert.is(next.status, 0, `${context}: the next create failed: ${next.stderr}`);
    const pruned = await host.json(['prune']);
    for (const decision of pruned.leftovers as Array<{ id: string; remove: boolean }>) {
      assert.not.ok(decision.remove, `${context}: prune removed ${decision.id}, a leftover younger than leftover_age_hours`);
    }
  }
  await assertConsistent(host, [], `${label}: after the last create and prune`);
  return leftovers;
}

/**
 * Local repository: ages every leftover by renaming its data directory to the id it would have had two hours
 * earlier (what a crash two hours ago leaves), then prune must remove them all, temporary files included.
 */
export async function assertPruneCollectsAgedLeftovers(host: Host, repository: string, context: string): Promise<void> {
  const leftovers = await host.incomplete();
  for (const { id } of leftovers) await rename(path.join(repository, 'data', id), path.join(repository, 'data', agedId(id, 2)));
  const pruned = await host.json(['prune']);
  const removed = (pruned.leftovers as Array<{ id: string; remove: boolean }>)
    .filter((decision) => decision.remove)
    .map((decision) => decision.id);
  assert.equal(removed.sort(), leftovers.map(({ id }) => agedId(id, 2)).sort(), `${context}: prune removes every aged leftover`);
  assert.equal(await host.incomplete(), [], `${context}: nothing incomplete after prune`);
  await assertOnlyListedData(host, repository, context);
}

/** Every file in a local repository belongs to a listed backup. */
export async function assertOnlyListedData(host: Host, repository: string, context: string): Promise<void> {
  const listed = new Set(await host.listed());
  const stray: string[] = [];
  for (const entry of await readdir(repository, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const key = path.relative(repository, path.join(entry.parentPath, entry.name));
    const owner = /^backups\/([^/]+)\.json$/.exec(key)?.[1] ?? /^data\/([^/]+)\//.exec(key)?.[1];
    if (!owner || !listed.has(owner) || key.includes('.tmp-')) stray.push(key);
  }
  assert.equal(stray, [], `${context}: files in ${repository} that belong to no listed backup`);
}

/**
 * `delete` of the oldest backup and `prune` (which deletes through the same path) killed at random moments.
 * Each trial: nothing half-deleted is listed (everything listed verifies); running the command again finishes
 * the job, and the half-deleted backup's data, shown by `list --all`, is removed by `delete <id>`.
 */
export async function crashDeletes(host: Host, source: string, random: Random, count: number, label: string): Promise<void> {
  const started = Date.now();
  await host.listed();
  const duration = Date.now() - started;
  for (let trial = 1; trial <= count; trial++) {
    for (let made = (await host.listed()).length; made < 4; made++) await host.json(['create', source]);
    const before = await host.listed();
    const prune = random.next() < 0.5;
    const victim = before[0]!;
    const args = prune ? ['prune'] : ['delete', victim];
    const delay = random.between(0, Math.round(duration * 1.5));
    const { killed, result } = await killAfter(host, args, delay);
    const context = `${label}, trial ${trial}/${count} (seed ${random.seed}): ${args.join(' ')} killed after ${delay} ms`;
    if (!killed) assert.is(result.status, 0, `${context}: finished first, but failed: ${result.stderr}`);
    const after = await assertConsistent(host, [], context);
    for (const id of after) assert.ok(before.includes(id), `${context}: ${id} appeared`);

    const again = await host.run(args);
    if (prune || after.includes(victim)) assert.is(again.status, 0, `${context}: running it again failed: ${again.stderr}`);
    for (const leftover of await host.incomplete()) {
      assert.ok(before.includes(leftover.id), `${context}: leftover ${leftover.id} is not a backup that was being deleted`);
      const collected = await host.run(['delete', leftover.id]);
      assert.is(collected.status, 0, `${context}: delete of the half-deleted ${leftover.id} failed: ${collected.stderr}`);
    }
    const final = await host.json<Array<{ id: string; status: string }>>(['list', '--all']);
    assert.equal(
      final.filter((entry) => entry.status === 'incomplete'),
      [],
      `${context}: nothing incomplete once the command ran again`,
    );
    assert.not.ok(
      final.some((entry) => entry.id === victim),
      `${context}: ${victim} is still there after ${args[0]} ran again`,
    );
  }
  await assertConsistent(host, [], `${label}: at the end`);
}
