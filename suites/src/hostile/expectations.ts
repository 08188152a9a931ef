import * as assert from 'uvu/assert';
import type { Result } from '../support.js';

/** A stack frame (`    at f (file.js:1:2)`) or Node's own crash output. */
const CRASH = /^\s+at |^node:internal|Error: .*\n\s+at |unexpected error/m;

/** The lines the CLI wrote on stderr, without empty ones. */
export function stderrLines(result: Result): string[] {
  return result.stderr.split('\n').filter((line) => line.trim().length > 0);
}

/** Asserts no stack trace and no "unexpected error": every failure of a hostile input is an expected one. */
export function assertNoCrash(result: Result, label: string): void {
  assert.not.match(result.stderr, CRASH, `${label}: crashed or printed a stack trace:\n${result.stderr}`);
  assert.ok(result.status !== null, `${label}: killed by a signal (${result.stderr})`);
}

/**
 * Asserts the CLI failed with `status` and exactly one line on stderr, an expected error
 * (`rast-backup: error RBnnn: …`) matching `pattern`, and printed nothing on stdout.
 */
export function assertOneLineError(result: Result, status: number, pattern: RegExp, label: string): string {
  assertNoCrash(result, label);
  const lines = stderrLines(result);
  assert.is(result.status, status, `${label}: exit ${result.status}, expected ${status}:\n${result.stderr}`);
  assert.is(lines.length, 1, `${label}: expected one line on stderr, got ${lines.length}:\n${result.stderr}`);
  assert.match(lines[0]!, /^rast-backup: error RB\d{3}: /, `${label}: not an expected error: ${lines[0]}`);
  assert.match(lines[0]!, pattern, `${label}: ${lines[0]} does not match ${pattern}`);
  assert.is(result.stdout, '', `${label}: printed on stdout: ${result.stdout}`);
  return lines[0]!;
}
