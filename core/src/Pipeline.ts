import {
  AsyncSeriesBailHook,
  AsyncSeriesHook,
  AsyncSeriesWaterfallHook,
  HookMap,
  SyncBailHook,
  SyncHook,
  SyncWaterfallHook,
} from 'tapable';
import { pluginFailed } from './diagnostics/index.js';
import type { Manifest } from './Manifest.js';
import type { ProgressEvent } from './Progress.js';
import type {
  Format,
  ManifestSigner,
  ManifestVerifier,
  OccupiedPath,
  OperationEvent,
  ParentRequest,
  PartEvent,
  Sink,
  Snapshot,
  SnapshotRequest,
  Transform,
  TransformDecoder,
} from './types.js';

type AnyHook = { intercept(interceptor: object): void };

/**
 * The owner of the hooks. Plugins only tap; the core's operations (create, restore, verify, delete) call.
 * Every hook is listed here with what its return value means.
 */
export class Pipeline {
  readonly hooks = Object.freeze({
    // --- set-up ---
    /** Waterfall: each storage plugin appends the sinks it configured. Every backup goes to every sink. */
    sinks: new AsyncSeriesWaterfallHook<[Sink[]]>(['sinks']),

    // --- create: snapshot → serialize → parts → transform → store → index ---
    /**
     * Waterfall: the parent `create --parent latest` resolved to (the source's latest backup). A plugin may
     * return null to make a full backup instead (retention's `full_every`: chains that end can be pruned);
     * returning undefined leaves the value unchanged, as in every tapable waterfall.
     */
    parent: new AsyncSeriesWaterfallHook<[Manifest | null, ParentRequest]>(['parent', 'request']),
    /** Bail: the first source (by SourceStage) that handles the path returns its Snapshot. */
    snapshot: new AsyncSeriesBailHook<[SnapshotRequest], Snapshot | undefined>(['request']),
    /** Formats by name (`tar`, `btrfs-send`): serialize, index, restore and verify a stream. */
    format: new HookMap<SyncBailHook<[], Format | undefined>>(() => new SyncBailHook<[], Format | undefined>()),
    /** Waterfall: each transform plugin appends its Transform; the core orders them by TransformStage. */
    transforms: new AsyncSeriesWaterfallHook<[Transform[]]>(['transforms']),
    /** Called after each part is stored in every sink (progress, metrics). */
    partStored: new SyncHook<[PartEvent]>(['part']),
    /** Waterfall: the last chance to add facts to a manifest before it is committed. */
    manifest: new SyncWaterfallHook<[Manifest]>(['manifest']),
    /**
     * Bail: the plugin that signs new manifests returns its signer, its key loaded (create calls it before it
     * writes anything, so a missing key stops it there); undefined from every plugin: manifests are unsigned.
     */
    signer: new AsyncSeriesBailHook<[], ManifestSigner | undefined>([]),

    // --- after create and delete ---
    /** A backup was removed from every sink: release what plugins keep for it (local snapshots). */
    deleted: new AsyncSeriesHook<[Manifest]>(['manifest']),
    /** Waterfall: facts plugins add to `info` about a backup (e.g. whether its local snapshot still exists). */
    describe: new AsyncSeriesWaterfallHook<[Record<string, string>, Manifest]>(['facts', 'manifest']),
    /**
     * Waterfall: local directories plugins keep their own data in, besides sinks' `localPath` (a snapshot
     * store); each appends its own. Restore refuses a destination inside one.
     */
    occupiedPaths: new AsyncSeriesWaterfallHook<[OccupiedPath[]]>(['paths']),

    // --- reading: authenticate → fetch → untransform → deserialize ---
    /** Bail: the plugin that checks manifests' signatures returns its verifier; undefined from every plugin: signing is off. */
    verifier: new AsyncSeriesBailHook<[], ManifestVerifier | undefined>([]),
    /** Decoders by transform name, for the transforms a manifest records. */
    untransform: new HookMap<SyncBailHook<[], TransformDecoder | undefined>>(() => new SyncBailHook<[], TransformDecoder | undefined>()),

    // --- lifecycle (notifications, metrics) ---
    /** An operation started. */
    started: new AsyncSeriesHook<[OperationEvent]>(['event']),
    /** An operation succeeded; `result` is the operation's summary (a manifest for create). */
    succeeded: new AsyncSeriesHook<[OperationEvent, unknown]>(['event', 'result']),
    /** An operation failed with `error`. */
    failed: new AsyncSeriesHook<[OperationEvent, Error]>(['event', 'error']),
    /** An operation advanced (create, restore, verify, prune, sync, copy, repair): bytes done of the total, for progress displays. */
    progress: new SyncHook<[ProgressEvent]>(['progress']),
  });

  /** Which plugin tapped which hook, for `rast-backup plugins`. */
  readonly taps = new Map<string, Set<string>>();

  constructor() {
    for (const [hookName, hook] of Object.entries(this.hooks)) {
      if (hook instanceof HookMap) {
        (hook as HookMap<SyncBailHook<[], unknown>>).intercept({
          factory: (key, created) => (this.attribute(`${hookName}.for(${String(key)})`, created), created),
        });
      } else {
        this.attribute(hookName, hook as AnyHook);
      }
    }
  }

  /** Records each tap and wraps what it throws with the plugin and hook names. */
  private attribute(hookName: string, hook: AnyHook): void {
    hook.intercept({
      register: (tap: { name: string; type: string; fn: (...args: unknown[]) => unknown }) => {
        const pluginName = tap.name;
        let hooksOfPlugin = this.taps.get(pluginName);
        if (!hooksOfPlugin) this.taps.set(pluginName, (hooksOfPlugin = new Set()));
        hooksOfPlugin.add(hookName);
        const fn = tap.fn;
        if (tap.type === 'promise') {
          tap.fn = async (...args: unknown[]) => {
            try {
              return await fn(...args);
            } catch (error) {
              throw pluginFailed(pluginName, hookName, error);
            }
          };
        } else if (tap.type === 'sync') {
          tap.fn = (...args: unknown[]) => {
            try {
              return fn(...args);
            } catch (error) {
              throw pluginFailed(pluginName, hookName, error);
            }
          };
        }
        return tap;
      },
    });
  }
}
