import { ErrorCode, RastError } from '../errors.js';
import { configPlace, reasonOf } from './place.js';

/** Config: the file, its syntax, its keys, and the storage it must configure. */

export function configSyntax(file: string, language: 'JSON' | 'TOML', reason: string): RastError {
  return new RastError(ErrorCode.CONFIG_SYNTAX, `${file}: malformed ${language}: ${reason}`, { file });
}

export function configUnreadable(file: string, via: string, error: unknown): RastError {
  const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
  return new RastError(
    ErrorCode.CONFIG_NOT_FOUND,
    `cannot read config file ${file} (given by ${via}): ${missing ? 'no such file' : reasonOf(error)}`,
    {
      file,
      missing,
    },
  );
}

/** A config key (dotted, `s3.bucket`) holds a value the code cannot use; `where` is the config file (null: the embedded default). */
export function configKeyInvalid(where: string | null | undefined, key: string, message: string): RastError {
  return new RastError(ErrorCode.CONFIG_INVALID, `${configPlace(where)}: ${key}: ${message}`, { key });
}

export function configLoadsCodeAsRoot(where: string | null): RastError {
  return new RastError(
    ErrorCode.CONFIG_INVALID,
    `${configPlace(where)}: plugins and presets: a config found by searching the current directory may not load code when running as root; pass it with --config`,
    { key: 'plugins' },
  );
}

export function noStorage(where: string | null): RastError {
  return new RastError(
    ErrorCode.CONFIG_INVALID,
    `${configPlace(where)}: no storage configured: set [storage] local.path (or configure another sink)`,
    { key: 'storage' },
  );
}

export function sinkNamedTwice(where: string | null, name: string): RastError {
  return new RastError(ErrorCode.CONFIG_INVALID, `${configPlace(where)}: two sinks are named ${name}`, { key: 'storage' });
}

/** A diagnostic raised while loading what `key` of the config names: the same failure, located in the config. */
export function inConfig(where: string | null, key: string, error: RastError): RastError {
  return new RastError(
    error.code,
    `${configPlace(where)}: ${key}: ${error.message}`,
    { ...error.facts, file: where, key },
    { cause: error.cause },
  );
}

/** A configured setting, as the user wrote it (`[btrfs] snapshot_dir /x`), that cannot be used here; `key` is its dotted key. */
export function settingUnusable(setting: string, key: string, problem: string): RastError {
  return new RastError(ErrorCode.CONFIG_INVALID, `${setting}: ${problem}`, { key });
}
