import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { isPlugin, isPreset, type Plugin, type PluginReference, type PresetItem } from './Plugin.js';
import { notAPlugin, pluginFileMissing, pluginNotFound, pluginUnloadable, presetEmpty } from './diagnostics/index.js';

/** A plugin after presets are flattened: where it came from and the default options presets gave it. */
export interface ResolvedPlugin {
  plugin: Plugin;
  /** Module file it was loaded from, or `built in` for objects handed over directly. */
  from: string;
  /** Preset chain that brought it in (empty when named directly in the config). */
  via: string[];
  defaults: Record<string, unknown>;
}

export interface LoaderOptions {
  /** Directories to resolve package names from, in order (the config's directory, the CLI's). */
  resolveFrom: string[];
  /** Directory relative paths are resolved against (the config file's). */
  relativeTo: string;
}

type Kind = 'plugin' | 'preset';

/** The names tried for a short name, like ESLint and Babel: `foo` → `rast-backup-plugin-foo`, … */
export function candidateNames(name: string, kind: Kind): string[] {
  if (name.startsWith('@')) return [name];
  const candidates = [`rast-backup-${kind}-${name}`, `@rast-backup/${kind}-${name}`, name];
  return [...new Set(name.startsWith(`rast-backup-${kind}-`) ? [name] : candidates)];
}

async function importReference(reference: string, kind: Kind, options: LoaderOptions): Promise<{ value: unknown; from: string }> {
  if (reference.startsWith('.') || path.isAbsolute(reference)) {
    const file = path.resolve(options.relativeTo, reference);
    try {
      const module = await import(pathToFileURL(file).href);
      return { value: module.default ?? module, from: file };
    } catch (error) {
      const missing = (error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND';
      throw missing ? pluginFileMissing(kind, reference, file) : pluginUnloadable(kind, reference, file, error);
    }
  }
  const names = candidateNames(reference, kind);
  for (const directory of options.resolveFrom) {
    const require = createRequire(path.join(directory, 'noop.js'));
    for (const name of names) {
      let file: string;
      try {
        file = require.resolve(name);
      } catch {
        continue;
      }
      const module = await import(pathToFileURL(file).href);
      return { value: module.default ?? module, from: file };
    }
  }
  throw pluginNotFound(kind, reference, names, options.resolveFrom);
}

/**
 * Flattens plugin and preset references depth-first in the order written. The same plugin twice keeps
 * its first place, with the options of both merged (the later wins). An empty preset is an error.
 */
export async function resolvePlugins(
  references: PresetItem[],
  options: LoaderOptions,
  defaultKind: Kind = 'plugin',
): Promise<ResolvedPlugin[]> {
  const resolved = new Map<string, ResolvedPlugin>();

  async function visit(item: PresetItem, via: string[], kind: Kind, parentFrom: string): Promise<void> {
    const [reference, defaults] = Array.isArray(item) ? item : [item, {}];
    let value: unknown = reference;
    let from = parentFrom;
    if (typeof reference === 'string') ({ value, from } = await importReference(reference, kind, options));
    if (isPreset(value)) {
      if (value.plugins.length === 0) throw presetEmpty(value.name);
      for (const inner of value.plugins) await visit(inner, [...via, value.name], 'plugin', from);
      return;
    }
    if (!isPlugin(value)) {
      const label = typeof reference === 'string' ? reference : String(reference);
      throw notAPlugin(label, from);
    }
    const existing = resolved.get(value.name);
    if (existing) existing.defaults = { ...existing.defaults, ...defaults };
    else resolved.set(value.name, { plugin: value, from, via, defaults: { ...defaults } });
  }

  for (const reference of references) await visit(reference, [], defaultKind, 'built in');
  return [...resolved.values()];
}

export type { PluginReference };
