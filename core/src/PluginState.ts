import type { Pipeline } from './Pipeline.js';

/** Each pipeline's plugin states, by key: kept with the pipeline, gone with it. */
const states = new WeakMap<Pipeline, Map<string, unknown>>();

/**
 * A plugin's state per pipeline: what its `apply` validated or built (its settings, its notifiers), for its
 * taps and its commands (`settings.get(runtime.pipeline)`). One mechanism for every plugin, as webpack's
 * `createHooksRegistry` keeps a plugin's hooks per compilation. `key` is the plugin's name (or a name of its
 * own for a second state), so that plugins never share one.
 */
export interface PluginState<T> {
  readonly key: string;
  /** What apply set on this pipeline; undefined when the plugin did not apply to it. */
  get(pipeline: Pipeline): T | undefined;
  set(pipeline: Pipeline, value: T): T;
}

export function pluginState<T>(key: string): PluginState<T> {
  const of = (pipeline: Pipeline) => {
    let map = states.get(pipeline);
    if (!map) states.set(pipeline, (map = new Map()));
    return map;
  };
  return {
    key,
    get: (pipeline) => states.get(pipeline)?.get(key) as T | undefined,
    set: (pipeline, value) => (of(pipeline).set(key, value), value),
  };
}
