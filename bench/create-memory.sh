#!/usr/bin/env bash
# Peak RSS and wall time of `rast-backup create` (zstd + OpenPGP, default settings) on a directory of
# incompressible files, to show that memory does not grow with the backup's size.
# Usage: bench/create-memory.sh [SIZE_MIB...]   (default 2048 8192). Needs a built tree and GNU time.
# Set RAST_BENCH_PLAIN=1 to leave encryption off.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN="$ROOT/node_modules/.bin/rast-backup"
WORK=$(mktemp -d /var/tmp/rast-memory-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
SIZES=("$@")
[ $# -eq 0 ] && SIZES=(2048 8192)

"$BIN" generate-key --output "$WORK/bench.key" --json > /dev/null
printf '[storage]\nlocal.path = "%s"\n' "$WORK/repo" > "$WORK/config.toml"
[ -z "${RAST_BENCH_PLAIN:-}" ] && printf '[encryption]\nenabled = true\nkey_path = "%s"\n' "$WORK/bench.key" >> "$WORK/config.toml"

# 256 MiB of random bytes, copied as many times as needed (zstd's window is far smaller, so copies do not compress).
head -c 256M /dev/urandom > "$WORK/block"
for size in "${SIZES[@]}"; do
  rm -rf "$WORK/data" "$WORK/repo"
  mkdir "$WORK/data"
  for i in $(seq 1 $((size / 256))); do cp "$WORK/block" "$WORK/data/file-$i"; done
  sync
  read -r seconds kib < <(/usr/bin/time -f '%e %M' "$BIN" create "$WORK/data" --config "$WORK/config.toml" 2>&1 >/dev/null | tail -n 1)
  echo "create of ${size} MiB: ${seconds} s, peak RSS $((kib / 1024)) MiB"
done
