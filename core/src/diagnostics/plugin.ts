import { ErrorCode, RastError } from '../errors.js';
import { reasonOf } from './place.js';

/** Plugins and presets: loading them, applying them, and what the pipeline needs one to provide. */

export function pluginFileMissing(kind: string, reference: string, file: string): RastError {
  return new RastError(ErrorCode.PLUGIN_NOT_FOUND, `${kind} ${reference} not found: no file ${file}`, { reference, file });
}

export function pluginUnloadable(kind: string, reference: string, file: string, error: unknown): RastError {
  return new RastError(ErrorCode.PLUGIN_INVALID, `${kind} ${reference} (${file}) failed to load: ${reasonOf(error)}`, { reference, file });
}

export function pluginNotFound(kind: string, reference: string, names: string[], from: string[]): RastError {
  return new RastError(
    ErrorCode.PLUGIN_NOT_FOUND,
    `${kind} ${reference} not found: looked for ${names.join(', ')} from ${from.join(', ')} (install it with npm, or give a path)`,
    { reference },
  );
}

export function presetEmpty(name: string): RastError {
  return new RastError(ErrorCode.PLUGIN_INVALID, `preset ${name} is empty`, { preset: name });
}

export function notAPlugin(reference: string, from: string): RastError {
  return new RastError(
    ErrorCode.PLUGIN_INVALID,
    `${reference} (${from}) is not a rast-backup plugin or preset: its default export needs a name and an apply() function`,
    { reference },
  );
}

export function pluginApplyFailed(plugin: string, error: unknown): RastError {
  if (error instanceof RastError) return error;
  return new RastError(ErrorCode.PLUGIN_FAILED, `plugin ${plugin} failed to apply: ${reasonOf(error)}`, { plugin }, { cause: error });
}

/** Wraps an error thrown inside a plugin's tap with the plugin and hook that threw it. */
export function pluginFailed(plugin: string, hook: string, error: unknown): RastError {
  if (error instanceof RastError) return error;
  return new RastError(
    ErrorCode.PLUGIN_FAILED,
    `plugin ${plugin} failed in hook ${hook}: ${reasonOf(error)}`,
    { plugin, hook },
    { cause: error },
  );
}

/** A plugin is loaded but not applied (its table is missing), and a command of its own needs it. */
export function pluginNotApplied(plugin: string, command: string, key: string): RastError {
  return new RastError(ErrorCode.PLUGIN_INVALID, `the ${plugin} plugin is loaded but was not applied: ${command} cannot run`, { key });
}

/** No loaded plugin provides a backup's format: to make (`neededBy` the source kind) or to read (`backup`, written by `plugin`). */
export function formatMissing(format: string, about: { backup?: string; plugin?: string; neededBy?: string } = {}): RastError {
  const { backup, plugin, neededBy } = about;
  return new RastError(
    ErrorCode.PLUGIN_INVALID,
    `${backup ? `backup ${backup}: ` : ''}no loaded plugin provides format ${format}${plugin ? ` (written by ${plugin})` : ''}${neededBy ? ` (needed by the ${neededBy} source)` : ''}`,
    { format, ...(backup ? { backup } : {}) },
  );
}

/** A backup was made with a transform no loaded plugin decodes. */
export function transformMissing(backup: string, transform: string, plugin: string): RastError {
  return new RastError(
    ErrorCode.TRANSFORM_FAILED,
    `backup ${backup} was made with transform ${transform} (${plugin}), and no loaded plugin decodes it`,
    { backup, transform },
  );
}

export function formatSerializedNothing(format: string, source: string): RastError {
  return new RastError(ErrorCode.PLUGIN_INVALID, `format ${format} serialized ${source} into neither a stream nor fill()`, { format });
}

/** A tool a plugin runs is not installed. */
export function toolMissing(command: string, packageName: string): RastError {
  return new RastError(ErrorCode.TOOL_MISSING, `${command} is not installed: install the ${packageName} package`, { tool: command });
}

/** A library a plugin needs could not be loaded. */
export function libraryMissing(library: string, error: unknown, remedy: string): RastError {
  return new RastError(ErrorCode.TOOL_MISSING, `${library} could not be loaded: ${reasonOf(error)}; ${remedy}`, { library });
}
