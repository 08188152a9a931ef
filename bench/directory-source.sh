#!/usr/bin/env bash
# Wall time, CPU and peak RSS of the directory source against restic on data set (f) of the `files` group
# (FILES files of 1-8 KiB, 30 per directory, three levels; bench/lib/manyfiles.mjs) on ext4 in /var/tmp:
# a full create (restic: a first backup into a fresh repository), then the "1% change" (append 512 bytes to 1%
# of the files, delete 0.1%, add 0.1%), then an incremental (`create --parent latest`; restic: its second backup).
# Each round: a fresh repository per tool, commands alternating in order, the page cache dropped before each.
# Prints one line per command: round, label, wall seconds, user and system CPU seconds, peak RSS MiB, load (1 min) before and after.
# Usage (root): bench/directory-source.sh [FILES] [ROUNDS] [BUILD...]   (default 100000 3 and this tree's build);
# each BUILD is the root of a built rast-backup tree, run in the same rounds (paired). The work directory is made
# in $BENCH_DIR (default /var/tmp) and removed at the end. With $TREE, the data set is that directory, written by
# `node bench/lib/manyfiles.mjs build $TREE FILES` beforehand (untimed, outside a bench lock), and kept.
# With ALONE=1, each round also times, after the incrementals, what bounds one from below: the cold walk alone
# (`bench/cold-walk.mjs serial`: readdir and lstat of every entry, one thread; and `find -printf %s`) and each
# build's start-up alone (`rast-backup --version`).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FILES=${1:-100000}
ROUNDS=${2:-3}
shift $(($# < 2 ? $# : 2))
BUILDS=("$@")
[ ${#BUILDS[@]} -eq 0 ] && BUILDS=("$ROOT")
WORK=$(mktemp -d "${BENCH_DIR:-/var/tmp}/rast-directory-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export RESTIC_PASSWORD=bench RESTIC_CACHE_DIR="$WORK/restic-cache" RAST_BACKUP_STATE_DIR="$WORK/state"
SOURCE=${TREE:-$WORK/tree}
if [ -z "${TREE:-}" ]; then
  mkdir "$SOURCE"
  node "$ROOT/bench/lib/manyfiles.mjs" build "$SOURCE" "$FILES"
fi

measure() { # round label command...
  local round=$1 label=$2
  shift 2
  sync
  echo 3 >/proc/sys/vm/drop_caches
  local before
  before=$(cut -d' ' -f1 /proc/loadavg)
  read -r seconds user system kib < <(/usr/bin/time -f '%e %U %S %M' "$@" 2>&1 >/dev/null | tail -n 1)
  echo "$round $label $seconds $user $system $((kib / 1024)) load $before $(cut -d' ' -f1 /proc/loadavg)"
}

for round in $(seq 1 "$ROUNDS"); do
  tools=(restic "${BUILDS[@]}")
  # The order reversed every other round, so that a machine getting busier favours none.
  [ $((round % 2)) -eq 0 ] && tools=($(printf '%s\n' "${tools[@]}" | tac))
  for phase in full incremental; do
    for tool in "${tools[@]}"; do
      if [ "$tool" = restic ]; then
        [ $phase = full ] && rm -rf "$WORK/restic" "$WORK/restic-cache" && restic -q -r "$WORK/restic" init >/dev/null
        measure "$round" "restic-$phase" restic -r "$WORK/restic" backup --host bench "$SOURCE"
      else
        name=$(basename "$tool")
        config="$WORK/$name.toml"
        [ $phase = full ] && rm -rf "$WORK/repo-$name" &&
          printf '[storage]\nlocal.path = "%s"\n[btrfs]\nenabled = false\n' "$WORK/repo-$name" >"$config"
        parent=()
        [ $phase = incremental ] && parent=(--parent latest)
        measure "$round" "$name-$phase" "$tool/node_modules/.bin/rast-backup" create "$SOURCE" "${parent[@]}" --config "$config"
      fi
    done
    [ $phase = full ] && node "$ROOT/bench/lib/manyfiles.mjs" change "$SOURCE" "$FILES" "$round"
  done
  if [ -n "${ALONE:-}" ]; then
    measure "$round" walk-alone node "$ROOT/bench/cold-walk.mjs" serial "$SOURCE"
    measure "$round" find-alone find "$SOURCE" -printf '%s\n'
    for tool in "${BUILDS[@]}"; do measure "$round" "$(basename "$tool")-start-up" "$tool/node_modules/.bin/rast-backup" --version; done
  fi
done
