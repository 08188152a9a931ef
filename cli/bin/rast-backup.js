#!/usr/bin/env node
// The installed command: a committed, executable file, so that it exists before the build and keeps its mode.
import '../dist/bin.js';
