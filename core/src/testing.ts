import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
/**
 * Helpers for tests of the core and of plugins (`@rast-backup/core/testing`). Tests use real parts;
 * MemorySink exists only for tests of the core itself, which must not depend on a storage plugin.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { IndexCache } from './IndexCache.js';
import { Pipeline } from './Pipeline.js';
import { Repository } from './Repository.js';
import type { Runtime } from './Runtime.js';
import { SourceStage } from './stages.js';
import type { Format, Logger, PutOptions, Sink, SinkObject } from './types.js';
import { partMissing } from './diagnostics/index.js';

const cleanups: string[] = [];
process.on('exit', () => {
  if (process.env.RAST_KEEP_TEST_FILES) return;
  for (const directory of cleanups) {
    unmountUnder(directory);
    try {
      rmSync(directory, { recursive: true, force: true });
    } catch {
      // A mount that could not be taken off leaves its directory for the system.
    }
  }
});

/** Detaches (lazily, deepest first) every mount inside `directory`, so that it can be removed. */
function unmountUnder(directory: string): void {
  let mounts: string;
  try {
    mounts = readFileSync('/proc/self/mounts', 'utf8');
  } catch {
    return;
  }
  const inside = mounts
    .split('\n')
    .map((line) => line.split(' ')[1]?.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))))
    .filter((mountPoint): mountPoint is string => mountPoint?.startsWith(directory + path.sep) === true)
    .sort((a, b) => b.length - a.length);
  for (const mountPoint of inside) spawnSync('umount', ['-l', mountPoint]);
}

export async function temporaryDirectory(prefix = 'rast-test-'): Promise<string> {
  const directory = await mkdtemp(path.join(tmpdir(), prefix));
  cleanups.push(directory);
  return directory;
}

export const isRoot = process.getuid?.() === 0;

/**
 * Registers a test that needs a capability (root, btrfs, a tool). Where it is missing the test is
 * skipped with a message, except when CI is set: then it fails, so that CI never passes by skipping.
 */
export function testNeeding(
  test: { (name: string, fn: () => void | Promise<void>): void; skip(name: string, fn?: () => void | Promise<void>): void },
  available: boolean,
  capability: string,
  name: string,
  fn: () => void | Promise<void>,
): void {
  if (available) test(name, fn);
  else if (process.env.CI) {
    test(name, () => {
      throw new Error(`this test needs ${capability}, and CI is set: CI must provide it`);
    });
  } else {
    process.stderr.write(`skipping "${name}": needs ${capability}\n`);
    test.skip(name, fn);
  }
}

export const silentLogger = (): Logger & { warnings: string[] } => {
  const warnings: string[] = [];
  return { info: () => {}, warn: (message) => warnings.push(message), warnings };
};

/** An in-memory sink for the core's own tests; records every call in order. */
export class MemorySink implements Sink {
  readonly objects = new Map<string, Buffer>();
  readonly calls: string[] = [];
  /** Keys put with `{ durable: true }`. */
  readonly durable = new Set<string>();
  failPutsMatching?: RegExp;

  constructor(
    readonly name = 'memory',
    readonly location = 'memory://',
  ) {}

  async put(key: string, data: Buffer, options?: PutOptions): Promise<void> {
    this.calls.push(`put ${key}`);
    if (this.failPutsMatching?.test(key)) throw new Error(`refusing ${key}`);
    this.objects.set(key, Buffer.from(data));
    if (options?.durable) this.durable.add(key);
  }

  async get(key: string): Promise<Buffer> {
    this.calls.push(`get ${key}`);
    const data = this.objects.get(key);
    if (!data) throw partMissing(key, this);
    return Buffer.from(data);
  }

  async *list(prefix: string): AsyncIterable<SinkObject> {
    for (const [key, data] of [...this.objects].sort()) if (key.startsWith(prefix)) yield { key, size: data.length };
  }

  async delete(key: string): Promise<void> {
    this.calls.push(`delete ${key}`);
    this.objects.delete(key);
  }
}

/**
 * The `text` format of the core's own tests: its stream is the snapshot's `details.content`; restore appends
 * the text of each backup of the chain to `restored`.
 */
export function textFormat(restored: string[] = []): Format {
  return {
    name: 'text',
    plugin: 'test-format@1',
    version: 1,
    serialize: ({ snapshot, backupId }) => ({
      stream: (async function* () {
        for (const piece of snapshot.details!.content as string[]) yield Buffer.from(piece);
      })(),
      index: () => ({ format: 'rast-backup/index', version: 1, backupId, entries: [] }),
    }),
    restore: async ({ chain, openStream }) => {
      for (const manifest of chain) {
        const pieces: Buffer[] = [];
        for await (const piece of openStream(manifest)) pieces.push(Buffer.from(piece)); // kept past the next: copied
        restored.push(Buffer.concat(pieces).toString());
      }
      return { entries: 0, bytes: 0, skipped: [] };
    },
    verify: async ({ stream }) => {
      for await (const piece of stream) void piece;
    },
  };
}

/**
 * A runtime for the core's own tests: in-memory sinks, a source whose snapshot streams `content` through
 * `format` (registered as `text`), 4-byte parts so that small streams span several.
 */
export function memoryRuntime(sinks: Sink[], content: string[], format: Format = textFormat()): Runtime {
  const pipeline = new Pipeline();
  const log = silentLogger();
  pipeline.hooks.snapshot.tapPromise({ name: 'test-source', stage: SourceStage.FALLBACK }, async (request) => ({
    path: request.path,
    source: request.path,
    kind: 'test',
    format: 'text',
    atomic: false,
    exclude: [],
    details: { content },
    release: async () => {},
  }));
  pipeline.hooks.format.for('text').tap('test-format', () => format);
  return {
    config: { file: null, origin: 'default', data: {} },
    pipeline,
    plugins: [],
    sinks,
    repository: new Repository(sinks, (name) => pipeline.hooks.untransform.get(name)?.call(), log),
    settings: { partSize: 4, concurrency: 2, syncAfterCreate: false, exclude: [] },
    log,
    indexCache: new IndexCache(undefined),
  };
}

/**
 * Polls `condition` every 20 ms until it holds; fails naming `what` never came after `timeout` ms. Tests that act
 * on another process's progress (kill it, signal it) wait for the state they need this way, never for a fixed time.
 */
export async function waitFor(what: string, condition: () => Promise<boolean> | boolean, timeout = 30_000): Promise<void> {
  const end = Date.now() + timeout;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Seeded pseudo-random numbers for randomized tests (pure-rand's xoroshiro128+): a failing run replays from its seed. */
export function seededRandom(seed: number): { next(): number; below(n: number): number; between(low: number, high: number): number } {
  const generator = xoroshiro128plus(seed);
  const between = (low: number, high: number) => uniformInt(generator, low, high);
  return { between, below: (n: number) => between(0, n - 1), next: () => uniformInt(generator, 0, 2 ** 31 - 1) / 2 ** 31 };
}

/** Counts the full garbage collections made while it observes. */
export function fullCollections(): { count: number; stop(): void } {
  const counter = { count: 0, stop: () => observer.disconnect() };
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries())
      if ((entry as unknown as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) counter.count++;
  });
  observer.observe({ entryTypes: ['gc'] });
  return counter;
}
