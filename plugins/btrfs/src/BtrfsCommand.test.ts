import { execFileSync } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runTool } from './BtrfsCommand.js';

const test = suite('runTool');

test('runs the tool in its own process group, out of reach of a Ctrl-C meant for rast-backup', async () => {
  const ours = execFileSync('ps', ['-o', 'pgid=', '-p', String(process.pid)], { encoding: 'utf8' }).trim();
  const [pid, group] = (await runTool('sh', ['-c', 'echo $$ $(ps -o pgid= -p $$)'], 'a test')).trim().split(/\s+/);
  assert.is.not(group, ours);
  assert.is(group, pid, 'the tool leads its own group');
});

test.run();
