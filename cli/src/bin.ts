import { commandLineArguments } from './CommandLine.js';
import { main } from './main.js';

// A reader that stops early (`rast-backup list | head`) is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

main(commandLineArguments()).then(
  (code) => {
    process.exitCode = code;
  },
  (error: Error) => {
    process.stderr.write(`rast-backup: unexpected error: ${error.stack}\n`);
    process.exitCode = 1;
  },
);
