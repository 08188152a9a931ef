#!/usr/bin/env bash
# What an incremental costs along a chain (issue 16: "the tenth incremental of a chain costs no more time or bytes
# than the first"): data set (f) of FILES files on a btrfs subvolume (bench/lib/manyfiles.mjs), a full create
# (zstd, local repository, untimed), then STEPS times the "1% change" followed by `create --parent latest` and, as
# its peer, `btrfs send -p <previous> <current> | zstd -3 -T0 > file` of the change's two read-only snapshots, in
# alternating order, the page cache dropped before each. Each step's ratio to its own pipeline takes out what the
# machine's load does to both.
# Prints one line per command: step, label, wall s, CPU s (user + system), peak RSS MiB, bytes added (rast-backup:
# create --json's storedSize; the pipeline: its file's size).
# Usage (root): bench/btrfs-chain.sh [FILES] [STEPS] [BUILD]   (default 1000000 10 and this tree's build; the
# work directory is made in $BENCH_DIR, default /var/tmp, and removed at the end).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FILES=${1:-1000000}
STEPS=${2:-10}
BUILD=${3:-$ROOT}
source "$ROOT/bench/lib/btrfs-image.sh"
btrfs_image "$(mktemp -d "${BENCH_DIR:-/var/tmp}/rast-chain-XXXXXX")" $((FILES / 100000 + 4))G
btrfs -q subvolume create "$MOUNT/files"
mkdir "$MOUNT/.peer"
node "$ROOT/bench/lib/manyfiles.mjs" build "$MOUNT/files" "$FILES"
sync
printf '[storage]\nlocal.path = "%s"\n' "$WORK/repository" >"$WORK/config.toml"
BIN="$BUILD/node_modules/.bin/rast-backup"
export RAST_BACKUP_STATE_DIR="$WORK/state"
"$BIN" create "$MOUNT/files" --config "$WORK/config.toml" >/dev/null
btrfs -q subvolume snapshot -r "$MOUNT/files" "$MOUNT/.peer/current"

measure() { # step label output-file command...
  local step=$1 label=$2 output=$3
  shift 3
  sync
  echo 3 >/proc/sys/vm/drop_caches
  read -r seconds user system kib < <(/usr/bin/time -f '%e %U %S %M' "$@" 2>&1 >"$output" | tail -n 1)
  echo "$step $label $seconds $(awk "BEGIN { print $user + $system }") $((kib / 1024))"
}

for step in $(seq 1 "$STEPS"); do
  node "$ROOT/bench/lib/manyfiles.mjs" change "$MOUNT/files" "$FILES" "$step"
  sync
  [ -d "$MOUNT/.peer/previous" ] && btrfs -q subvolume delete "$MOUNT/.peer/previous"
  mv "$MOUNT/.peer/current" "$MOUNT/.peer/previous"
  btrfs -q subvolume snapshot -r "$MOUNT/files" "$MOUNT/.peer/current"
  order=(rast pipe)
  [ $((step % 2)) -eq 0 ] && order=(pipe rast)
  for tool in "${order[@]}"; do
    if [ "$tool" = rast ]; then
      line=$(measure "$step" rast-backup "$WORK/create.json" "$BIN" create "$MOUNT/files" --parent latest --json --config "$WORK/config.toml")
      echo "$line $(jq .storedSize "$WORK/create.json")"
    else
      line=$(measure "$step" pipeline /dev/null sh -c "btrfs send -q -p '$MOUNT/.peer/previous' '$MOUNT/.peer/current' | zstd -q -3 -T0 > '$WORK/pipe.zst'")
      echo "$line $(stat -c %s "$WORK/pipe.zst")"
    fi
  done
done
