#!/usr/bin/env node
// The installed command: a committed, executable file, so that it exists before the build and keeps its mode.
// A packed CLI carries its modules bundled (dist/bundle, see scripts/bundle.mjs): it starts in about half the time.
import { existsSync } from 'node:fs';

await import(existsSync(new URL('../dist/bundle/bin.js', import.meta.url)) ? '../dist/bundle/bin.js' : '../dist/bin.js');
