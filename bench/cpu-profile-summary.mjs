#!/usr/bin/env node
// Sums a `node --cpu-prof` profile's self time per function, heaviest first: where a thread's CPU-seconds went.
// node bench/cpu-profile-summary.mjs <file.cpuprofile>... [--top N]
import { readFileSync } from 'node:fs';
import path from 'node:path';

const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const top = topAt >= 0 ? Number(args.splice(topAt, 2)[1]) : 15;
for (const file of args) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const self = new Map(profile.nodes.map((node) => [node.id, 0]));
  for (let i = 0; i < profile.samples.length; i++)
    self.set(profile.samples[i], self.get(profile.samples[i]) + (profile.timeDeltas[i] ?? 0));
  const byName = new Map();
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame;
    const name = `${functionName || '(anonymous)'} ${url ? `${path.basename(url)}:${lineNumber + 1}` : ''}`.trim();
    byName.set(name, (byName.get(name) ?? 0) + self.get(node.id));
  }
  const total = [...byName.values()].reduce((a, b) => a + b, 0);
  const idle = byName.get('(idle)') ?? 0;
  console.log(
    `${path.basename(file)}: ${(total / 1e6).toFixed(2)} s sampled, ${(idle / 1e6).toFixed(2)} s idle, ${((total - idle) / 1e6).toFixed(2)} s busy`,
  );
  for (const [name, micros] of [...byName].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`  ${(micros / 1e6).toFixed(3).padStart(7)} s  ${name}`);
}
