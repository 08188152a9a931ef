#!/usr/bin/env node
// Runs every compiled *.test.js with uvu, then prints one closing line: "N passed, N failed, N skipped".
// Extra arguments narrow the run to test files whose path matches them (e.g. `npm test -- directory`).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(`usage: node scripts/test.mjs [PATTERN…]   (or: npm test -- [PATTERN…])

Runs the compiled tests (dist/**/*.test.js; build first with npx tsc -b), or only the files whose path matches
one of the PATTERNs (regular expressions), and ends with "N passed, N failed, N skipped". Exit 1 when a test
fails or none ran. Tests that need root, btrfs, GnuPG or the S3 server skip where those are missing, and fail
instead when CI is set. Environment variables: see docs/testing.md.
`);
  process.exit(0);
}
const uvu = fileURLToPath(new URL('../node_modules/uvu/bin.js', import.meta.url));
const filter = process.argv.slice(2).join('|');
const pattern = filter ? `^(?=.*(${filter})).*dist/.*\\.test\\.js$` : 'dist/.*\\.test\\.js$';
const child = spawn(process.execPath, [uvu, '.', pattern, '-i', 'node_modules', '-i', 'examples'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
let output = '';
child.stdout.on('data', (chunk) => {
  output += chunk;
  process.stdout.write(chunk);
});
child.on('close', (code) => {
  const plain = output.replace(/\x1b\[[0-9;]*m/g, '');
  const number = (label) => Number(new RegExp(`${label}:\\s+(\\d+)`).exec(plain)?.[1] ?? 0);
  const total = number('Total');
  const passed = number('Passed');
  const skipped = number('Skipped');
  const failed = Math.max(total - passed - skipped, code === 0 ? 0 : 1);
  process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  process.exitCode = code === 0 && failed === 0 && total > 0 ? 0 : 1;
});
