import { RastError } from './errors.js';
import type { PartRecord } from './Manifest.js';
import type { SignedManifest } from './ManifestSigning.js';
import { RepositoryKeys } from './RepositoryKeys.js';
import type { Logger, Sink } from './types.js';
import { committedInSome, notStored, objectsVanishedDuringCreate, sinkFailed } from './diagnostics/index.js';

/**
 * The store stage of one create: every object goes to every sink still working. A sink that fails is dropped for
 * the rest of the backup (a warning names it) and the others carry on; when none is left, the operation throws
 * SINK_FAILED. The manifest is committed in every sink that stored every object.
 */
export class SinkFanout {
  /** Keys put so far (in any sink): what a failed create removes. */
  private readonly written = new Set<string>();
  private readonly failures = new Map<Sink, Error>();

  constructor(
    private readonly sinks: Sink[],
    private readonly backupId: string,
    private readonly log: Logger,
  ) {}

  /** The sinks not dropped. */
  get working(): Sink[] {
    return this.sinks.filter((sink) => !this.failures.has(sink));
  }

  /** Puts `data` under `key` in every working sink; `data` may be reused once this settles. */
  async put(key: string, data: Buffer): Promise<void> {
    this.written.add(key);
    await Promise.all(
      this.working.map((sink) => sink.put(key, data).catch((error: Error) => this.drop(sink, sinkFailed(sink, `store ${key}`, error)))),
    );
    this.throwIfNoneLeft();
  }

  /** Makes what every working sink stored durable (`Sink.flush`). */
  async flush(): Promise<void> {
    await Promise.all(
      this.working.map((sink) =>
        sink.flush?.().catch((error: Error) => this.drop(sink, sinkFailed(sink, 'make its objects durable', error))),
      ),
    );
    this.throwIfNoneLeft();
  }

  /**
   * Just before the commit: every object of this backup is still in each sink. A prune (on any host) collects
   * uncommitted data older than leftover_age_hours, so a create running longer than that may lose its parts;
   * such a sink is dropped rather than committed with a manifest pointing at nothing.
   */
  async checkStillStored(records: PartRecord[]): Promise<void> {
    const id = this.backupId;
    await Promise.all(
      this.working.map(async (sink) => {
        const present = new Map<string, number>();
        try {
          for await (const object of sink.list(RepositoryKeys.dataPrefix(id))) present.set(object.key, object.size);
        } catch (error) {
          this.drop(sink, sinkFailed(sink, `list the objects of backup ${id} before committing it`, error));
          return;
        }
        const gone = records.filter((record) => present.get(record.key) !== record.storedSize);
        if (gone.length === 0) return;
        this.drop(
          sink,
          objectsVanishedDuringCreate(
            sink,
            id,
            gone.map((record) => record.key),
            records.length,
          ),
        );
      }),
    );
    this.throwIfNoneLeft();
  }

  /**
   * Writes the manifest, durably, to every working sink: the commit point; its signature first, so that a listed
   * backup always has it. A sink that fails here is dropped, and its copies removed in case a write landed after all.
   */
  async commit({ manifest, data, signature }: SignedManifest): Promise<void> {
    const key = RepositoryKeys.manifest(manifest.id);
    const signatureKey = RepositoryKeys.signature(manifest.id);
    const sinks = this.working;
    const results = await Promise.allSettled(
      sinks.map(async (sink) => {
        if (signature) {
          this.written.add(signatureKey);
          await sink.put(signatureKey, signature, { durable: true });
        }
        await sink.put(key, data, { durable: true });
      }),
    );
    const failed = sinks.filter((_, index) => results[index]!.status === 'rejected');
    for (const sink of failed) {
      this.drop(
        sink,
        sinkFailed(sink, `commit backup ${manifest.id}`, (results[sinks.indexOf(sink)] as PromiseRejectedResult).reason as Error),
      );
    }
    await Promise.allSettled(failed.map(async (sink) => (await sink.delete(key), await sink.delete(signatureKey))));
    this.throwIfNoneLeft();
  }

  /** Not committed: removes what was written from every sink. Returns how many objects were written, and how many removals failed. */
  async removeWritten(): Promise<{ written: number; kept: number }> {
    const removals = await Promise.allSettled(this.sinks.flatMap((sink) => [...this.written].map((key) => sink.delete(key))));
    return { written: this.written.size, kept: removals.filter((removal) => removal.status === 'rejected').length };
  }

  /** Committed: removes what was written from the dropped sinks, where that still works. */
  async cleanUp(): Promise<void> {
    await Promise.allSettled([...this.failures.keys()].flatMap((sink) => [...this.written].map((key) => sink.delete(key))));
  }

  /** After cleanUp(): the error saying the backup is committed in some sinks only, when any was dropped. */
  partialCommit(): RastError | undefined {
    if (this.failures.size === 0) return undefined;
    const held = this.working.map((sink) => sink.name);
    return committedInSome(this.backupId, held, this.failures);
  }

  private drop(sink: Sink, error: Error): void {
    if (this.failures.has(sink)) return;
    this.failures.set(sink, error);
    const others = this.working;
    if (others.length > 0)
      this.log.warn(
        `${error.message}; backup ${this.backupId} goes on in ${others.map((other) => other.name).join(', ')} only and will not be committed in ${sink.name}`,
      );
  }

  private throwIfNoneLeft(): void {
    if (this.working.length > 0) return;
    const errors = [...this.failures.values()];
    if (errors.length === 1 && errors[0] instanceof RastError) throw errors[0];
    throw notStored(this.backupId, this.failures);
  }
}
