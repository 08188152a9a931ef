#!/usr/bin/env node
// Runs every compiled *.test.js with uvu, then prints one closing line: "N passed, N failed, N skipped".
// Extra arguments narrow the run to test files whose path matches them (e.g. `npm test -- directory`).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

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
