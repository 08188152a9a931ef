#!/usr/bin/env node
// Bundles the CLI with the plugins of the default preset and their libraries into dist/bundle/ (run by
// `npm pack` before packing; `--remove` after it): Node 20 resolves, reads and compiles each of the ~320
// modules of the tree on every start, and has no compile cache. bin/rast-backup.js runs the bundle when it
// is there. Each module's `import.meta.url` stays the URL of its own file in its installed package
// (resolved through that package's name), so package identities, worker entries and native addons are
// found where they were. Native addons, workers' libraries, openpgp and typescript stay external; the AWS SDK
// (about 570 CommonJS files) is bundled into a chunk of its own that only an S3 connection imports.
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// `--outdir DIR` (under the tree, where the packages resolve) for a bundle beside the packed one (tests).
const at = process.argv.indexOf('--outdir');
const OUT = at > 0 ? path.resolve(process.argv[at + 1]) : path.join(CLI, 'dist', 'bundle');
rmSync(OUT, { recursive: true, force: true });
if (process.argv.includes('--remove')) process.exit(0);

/** The workspace package holding a file (its name and entry), or undefined for a file under node_modules. */
const packages = new Map();
function packageOf(file) {
  if (file.split(path.sep).includes('node_modules')) return undefined;
  for (let directory = path.dirname(file); directory !== path.dirname(directory); directory = path.dirname(directory)) {
    if (!packages.has(directory)) {
      let manifest;
      try {
        manifest = JSON.parse(readFileSync(path.join(directory, 'package.json'), 'utf8'));
      } catch {
        packages.set(directory, undefined);
        continue;
      }
      packages.set(directory, { name: manifest.name, entry: path.join(directory, manifest.main) });
    }
    const found = packages.get(directory);
    if (found) return found;
  }
  return undefined;
}

const ownUrls = {
  name: 'own-import-meta-url',
  setup(esbuild) {
    esbuild.onLoad({ filter: /\.js$/ }, (args) => {
      const owner = packageOf(args.path);
      if (!owner) return undefined;
      const text = readFileSync(args.path, 'utf8');
      const relative = path.relative(path.dirname(owner.entry), args.path).split(path.sep).join('/');
      const url = `new URL(${JSON.stringify(relative)}, import.meta.resolve(${JSON.stringify(owner.name)})).href`;
      return { contents: text.replaceAll('import.meta.url', url), loader: 'js' };
    });
  },
};

const result = await build({
  entryPoints: [path.join(CLI, 'dist', 'bin.js')],
  outdir: OUT,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Loaded only when used (openpgp, typescript for a .ts config), native, or starting workers from their own files.
  external: ['openpgp', 'typescript', 'piscina', 'zstd-napi', 'koffi', '@node-rs/*', '@napi-rs/*'],
  // CommonJS libraries in the bundle call require() for Node's modules and read __filename.
  banner: {
    js: [
      "import { createRequire as __bundleRequire } from 'node:module';",
      "import { fileURLToPath as __bundlePath } from 'node:url';",
      'const require = __bundleRequire(import.meta.url);',
      'const __filename = __bundlePath(import.meta.url);',
      "const __dirname = __bundlePath(new URL('.', import.meta.url));",
    ].join(' '),
  },
  plugins: [ownUrls],
  logLevel: 'warning',
  metafile: true,
});
const inputs = Object.keys(result.metafile.inputs).length;
const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
console.error(
  `bundle: ${inputs} modules into ${Object.keys(result.metafile.outputs).length} files, ${(bytes / 1024).toFixed(0)} KiB, in ${path.relative(CLI, OUT)}`,
);
