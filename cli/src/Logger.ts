import type { Writable } from 'node:stream';
import type { Logger } from '@rast-backup/core';

/** Logs go to stderr, so that stdout holds only results (and with --json only the JSON document). */
export function stderrLogger(stderr: Writable, verbose: () => boolean): Logger {
  return {
    info: (message) => {
      if (verbose()) stderr.write(`rast-backup: ${message}\n`);
    },
    warn: (message) => stderr.write(`rast-backup: warning: ${message}\n`),
  };
}
