import { limitYoungGeneration } from '@rast-backup/core/allocator-growth';

// Before the command's modules load (imported below, not above): compiling them is what first grows it.
limitYoungGeneration();
const { commandLineArguments } = await import('./CommandLine.js');
const { main } = await import('./main.js');

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
