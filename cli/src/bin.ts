#!/usr/bin/env node
import { main } from './main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: Error) => {
    process.stderr.write(`rast-backup: unexpected error: ${error.stack}\n`);
    process.exitCode = 1;
  },
);
