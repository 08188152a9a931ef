#!/usr/bin/env bash
# Installs rast-backup from this source tree into PREFIX (default /usr/local), as `npm install -g` would:
# the CLI under PREFIX/lib/rast-backup, `rast-backup` linked into PREFIX/bin. Used by the PKGBUILD with
# DESTDIR. The workspace packages are packed with `npm pack` and installed from those tarballs, so nothing
# of ours is fetched from a registry; third-party dependencies come from the registry (or npm's cache).
#   examples/packaging/install-from-tree.sh [PREFIX]      (DESTDIR=... for staging)
set -euo pipefail
tree="$(cd "$(dirname "$0")/../.." && pwd)"
prefix="${1:-/usr/local}"
destdir="${DESTDIR:-}"
library="$destdir$prefix/lib/rast-backup"
packs="$(mktemp -d)"
trap 'rm -rf "$packs"' EXIT

cd "$tree"
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build --silent
npm pack --silent --workspaces --pack-destination "$packs" >/dev/null

rm -rf "$library"
mkdir -p "$library" "$destdir$prefix/bin"
# A private project whose dependencies are every packed workspace package: npm then resolves the packages'
# dependencies on each other ("@rast-backup/core": "0.1.0") to these same tarballs.
node - "$packs" "$library" <<'JS'
const { readdirSync, writeFileSync } = require('node:fs');
const { execFileSync } = require('node:child_process');
const [packs, library] = process.argv.slice(2);
const dependencies = {};
for (const file of readdirSync(packs).filter((name) => name.endsWith('.tgz'))) {
  const manifest = JSON.parse(execFileSync('tar', ['-xOzf', `${packs}/${file}`, 'package/package.json'], { encoding: 'utf8' }));
  dependencies[manifest.name] = `file:${packs}/${file}`;
}
writeFileSync(`${library}/package.json`, JSON.stringify({ name: 'rast-backup-installation', private: true, dependencies, allowScripts: { 'zstd-napi': true } }, null, 2));
JS
(cd "$library" && npm install --omit=dev --no-audit --no-fund --install-links --silent && rm -f package-lock.json)
ln -sf "../lib/rast-backup/node_modules/rast-backup/bin/rast-backup.js" "$destdir$prefix/bin/rast-backup"
chmod +x "$library/node_modules/rast-backup/bin/rast-backup.js"
echo "installed: $destdir$prefix/bin/rast-backup"
