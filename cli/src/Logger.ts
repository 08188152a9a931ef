import type { Writable } from 'node:stream';
import { displayPath, type Logger } from '@rast-backup/core';

/**
 * Logs go to stderr, so that stdout holds only results (and with --json only the JSON document). Control
 * characters (from a sink's key names, say) are shown as \xHH: a message is one line and drives no terminal.
 */
export function stderrLogger(stderr: Writable, verbose: () => boolean): Logger {
  return {
    info: (message) => {
      if (verbose()) stderr.write(`rast-backup: ${displayPath(message)}\n`);
    },
    warn: (message) => stderr.write(`rast-backup: warning: ${displayPath(message)}\n`),
  };
}
